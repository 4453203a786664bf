# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders of real test artifacts for offline Windows image inspection.

* :mod:`.regf` - registry hive writer;
* :mod:`.windows_tree` - synthetic Windows system volumes in a chosen state (presets);
* :mod:`.images` - WIM / NTFS / partitioned disk / VHD(X) / VMDK / qcow2 artifacts;
* :mod:`.readback` - dump hives with hivex tools and regipy (for assertions);
* :mod:`.fixtures` - pytest fixtures with a per-session artifact cache.

See README.md beside this file.
"""
