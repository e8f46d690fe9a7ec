#!/bin/sh
# Runs inside the image's root filesystem (chroot) after the packages are installed.
set -eu

useradd --create-home --uid 1000 --shell /bin/bash sandbox

systemctl set-default multi-user.target
systemctl enable sandbox-xvnc.service sandbox-demo-httpd.service sandbox-chromium.service

# An empty machine-id makes systemd generate a new one on each container's first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
