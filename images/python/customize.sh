#!/bin/sh
# Runs inside the image's root filesystem (chroot) after the packages are installed.
set -eu

useradd --create-home --uid 1000 --shell /bin/bash sandbox
install -d -o sandbox -g sandbox /home/sandbox/work

# Matplotlib has no display here: render to files with the Agg backend.
echo 'MPLBACKEND=Agg' >> /etc/environment

systemctl set-default multi-user.target
# python3.11 registers .pyc files with binfmt_misc, which an unprivileged container cannot
# change, so systemd-binfmt.service would fail at every boot.
systemctl mask systemd-binfmt.service

# An empty machine-id makes systemd generate a new one on each container's first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
