# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What no capture takes from a Windows volume, whichever tool captures it.

One list for DISM (WimScript.ini) and wimlib (its [ExclusionList]), so a capture on Windows
and one from Linux of the same volume hold the same files.
"""

from __future__ import annotations

# Memory, hibernation and swap files, restore points and shadow copies, recycle bins, the
# offline files cache, the WinRE update agent's work folder, NTFS-3G's own log. Absolute paths
# from the volume root, matched case-insensitively like Windows.
DEFAULT_EXCLUSIONS = (
    "\\$ntfs.log",
    "\\hiberfil.sys",
    "\\pagefile.sys",
    "\\swapfile.sys",
    "\\System Volume Information",
    "\\RECYCLER",
    "\\$Recycle.Bin",
    "\\Windows\\CSC",
    "\\$WinREAgent",
)
