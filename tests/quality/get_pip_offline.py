# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the pip bootstrap script ansible-test downloads.

ansible-test creates its sanity/units virtual environments without pip and
then runs a ``get-pip.py`` fetched from ci-files.testing.ansible.com, a host
this project's machines cannot reach (only PyPI is reachable). ansible-test
looks for that script in ``~/.ansible/test/cache/get_pip_<version>.py`` first,
so the harness copies this file there. It does what get-pip.py does with the
same command line: put pip into the running interpreter (here from the
standard library's ``ensurepip``) and then ``pip install`` the requested
packages, which come from PyPI.
"""

import ensurepip
import os
import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main():
    pip_arguments = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    environment = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; the real
    # install must see the machine's pip configuration (index, certificates).
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + pip_arguments, env=environment)


if __name__ == '__main__':
    sys.exit(main())
