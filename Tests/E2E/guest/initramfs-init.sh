#!/bin/busybox sh
# initramfs /init: load the modules for the signed ext4 root, mount it read-only, switch to it.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || echo "E2E-ERROR insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
mount -t ext4 -o ro /dev/vda /newroot || { echo "E2E-ERROR cannot mount /dev/vda"; echo o > /proc/sysrq-trigger; }
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
