#!/bin/sh
# Host checks of load-keys that need no kernel keyring: the ON_FAILURE decision (boot.conf,
# policy), bad configuration lines, bad arguments. One line per check: 'PASS name' / 'FAIL name ...'.
#   load-keys-logic.sh LOAD-KEYS
loader=${1:?usage: load-keys-logic.sh LOAD-KEYS}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1 (expected '$2', got '$3')"; fails=$((fails + 1)); fi
}
mkroot() { rm -rf "$tmp/root"; mkdir -p "$tmp/root/etc/ima" "$tmp/root/etc/signet" "$tmp/root/etc/keys/ima"; }

mkroot
printf '# exec-signed\ndont_appraise fsmagic=0x9fa0\nappraise func=BPRM_CHECK appraise_type=imasig\n' > "$tmp/root/etc/ima/ima-policy"
check auto-appraising-policy-panics panic "$("$loader" --on-failure "$tmp/root" 2>/dev/null)"

printf 'measure func=BPRM_CHECK\ndont_appraise fsmagic=0x9fa0\n' > "$tmp/root/etc/ima/ima-policy"
check auto-measure-only-policy-continues continue "$("$loader" --on-failure "$tmp/root" 2>/dev/null)"

rm "$tmp/root/etc/ima/ima-policy"
check auto-no-policy-continues continue "$("$loader" --on-failure "$tmp/root" 2>/dev/null)"

printf 'appraise func=BPRM_CHECK appraise_type=imasig\n' > "$tmp/root/etc/ima/ima-policy"
printf '# comment\nON_FAILURE=continue\n' > "$tmp/root/etc/signet/boot.conf"
check conf-continue-wins continue "$("$loader" --on-failure "$tmp/root" 2>/dev/null)"

printf 'ON_FAILURE="panic"\n' > "$tmp/root/etc/signet/boot.conf"
rm "$tmp/root/etc/ima/ima-policy"
check conf-quoted-panic panic "$("$loader" --on-failure "$tmp/root" 2>/dev/null)"

printf 'ON_FAILURE=sometimes\nFOO=1\n' > "$tmp/root/etc/signet/boot.conf"
err=$("$loader" --on-failure "$tmp/root" 2>&1 >/dev/null)
case $err in *"unknown line 'FOO=1'"*"ON_FAILURE='sometimes' is not auto, continue or panic"*) r=named ;; *) r="$err" ;; esac
check conf-bad-lines-named named "$r"

"$loader" "$tmp/missing" 2>"$tmp/err"; rc=$?
case $(cat "$tmp/err") in *"root '$tmp/missing' is not a directory"*) r=$rc ;; *) r="$rc $(cat "$tmp/err")" ;; esac
check missing-root-refused 64 "$r"

"$loader" 2>/dev/null; check no-argument-usage 64 $?
"$loader" --bogus "$tmp/root" 2>/dev/null; check unknown-option-usage 64 $?
exit $fails
