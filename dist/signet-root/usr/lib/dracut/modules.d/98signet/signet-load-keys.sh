#!/bin/sh
# dracut pre-pivot hook (signet), sourced by dracut with dracut-lib.sh: loads the IMA (and EVM)
# certificates of the real root mounted at $NEWROOT. On failure, /etc/signet/boot.conf ON_FAILURE
# (or signet.on_failure=) decides: 'panic' stops the boot (dracut's die: emergency shell with
# rd.shell, else halt), 'continue' logs and boots on.

_signet_loader=/usr/lib/signet/load-keys
if [ ! -x "$_signet_loader" ]; then
    warn "signet: $_signet_loader is not in the initramfs (rebuild it: dracut --force)"
else
    "$_signet_loader" "${NEWROOT:-/sysroot}"
    _signet_rc=$?
    case $_signet_rc in
        0) ;;
        2) warn "signet: some certificates were refused (load-keys exit 2); booting on" ;;
        *)
            if [ "$("$_signet_loader" --on-failure "${NEWROOT:-/sysroot}")" = panic ]; then
                die "signet: the IMA certificates could not be loaded (load-keys exit $_signet_rc) and the root's policy appraises: every signed program would be refused. Fix /etc/keys/ima or boot with signet.on_failure=continue (see /etc/signet/boot.conf)."
            else
                warn "signet: the IMA certificates could not be loaded (load-keys exit $_signet_rc); booting on (ON_FAILURE=continue or no appraising policy)"
            fi
            ;;
    esac
    unset _signet_rc
fi
unset _signet_loader
