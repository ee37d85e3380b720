#!/bin/bash
# dracut module "signet": loads the IMA (and EVM) certificates of the real root
# ($NEWROOT/etc/keys/ima/*.der) into the kernel's keyrings in the pre-pivot hook, before
# switch_root, so that systemd's own policy load (/etc/ima/ima-policy) finds them.
# Independent of dracut's 98integrity (which loads keys with evmctl and its own policy).

# called by dracut
check() {
    # Included by default wherever the signet package installed the loader and keyutils is there.
    [ -x /usr/lib/signet/load-keys ] || return 1
    require_binaries keyctl || return 1
    return 0
}

# called by dracut
depends() {
    return 0
}

# called by dracut
install() {
    inst_multiple keyctl mount
    inst_simple /usr/lib/signet/load-keys /usr/lib/signet/load-keys
    # pre-pivot 60: before 98integrity's key (61) and policy (62) hooks, if that module is added
    inst_hook pre-pivot 60 "$moddir/signet-load-keys.sh"
}
