#!/bin/sh
# The checks tools/e2e-debian runs inside the booted Debian image, started by signet-e2e.service
# once the boot has finished. One marker line per case on the serial console (ttyS0):
#   E2E-CASE name=… result=PASS|FAIL detail=[…]
# The mode comes from the kernel command line (signet.e2e=…):
#   enforce  first boot: the system came up whole, ordinary programs run, attacks are refused
#   attest   second boot of the same disk, with a TPM: still whole; quote, try an unsigned
#            program, rewrite a library a running process has mapped, quote again; the evidence
#            goes to the second disk (/dev/vdb) as a tar archive
#   weakened third boot, of a throwaway copy, with ima_appraise=log and without the image's
#            kernel parameters: what posture must call open, and that the doors are real
#   measured the boots through OVMF, shim and grub with a TPM (signet.boot=NAME names them:
#            uefi-sb, uefi-sb-log, uefi-nosb): still whole; enroll an AK, quote once, and hand the
#            evidence, the firmware's event log and the PCR values to the host on the disk whose
#            serial is signet-evidence (a tar archive); posture as the operator would run it
# A refusal counts only when the kernel's IMA audit line (cause=…, name="…") names the object.
# Ends with E2E-DONE and powers the machine off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
E=/opt/e2e
cmdline=$(cat /proc/cmdline)
mode=$(echo "$cmdline" | sed -n 's/.*signet\.e2e=\([a-z]*\).*/\1/p')

# Each line is written with its own open of the console: agetty on ttyS0 may hang the line up.
mark() { printf '\n%s\n' "$*" > /dev/ttyS0; echo "$*"; }
flat() { tr '\n' '|' | tr -s ' ' | sed 's/|*$//' | cut -c1-400; }
case_line() { if [ "$2" = 0 ]; then r=PASS; else r=FAIL; fi; mark "E2E-CASE name=$1 result=$r detail=[$3]"; }

case $mode in
  enforce) prefix=boot1 ;; attest) prefix=boot2 ;; weakened) prefix=boot3 ;;
  measured) prefix=$(echo "$cmdline" | sed -n 's/.*signet\.boot=\([a-z0-9-]*\).*/\1/p') ;;
  *) prefix=$mode ;;
esac
mark "E2E-START mode=$mode"
# Wait for the boot to finish (this unit is not part of the boot job: it is Type=exec).
state=$(systemctl is-system-running --wait 2>&1)
up_booted=$(cut -d' ' -f1 /proc/uptime)
[ "$state" = running ]; case_line "$prefix-system-running" $? "is-system-running: $state"
failed=$(systemctl --failed --no-legend --plain 2>&1)
[ -z "$failed" ]; case_line "$prefix-no-failed-unit" $? "$(echo "${failed:-none}" | flat)"
# IMA refusals in this boot: the kernel's audit lines, from the journal (kernel and audit
# transports) and the ring buffer. Before the tests start there must be none.
refusals() { { journalctl -b -o cat _TRANSPORT=kernel; journalctl -b -o cat _TRANSPORT=audit; dmesg; } 2>/dev/null | grep 'cause=' | sed 's/^.*audit([0-9.:]*): //' | sort -u; }
boot_refusals=$(refusals)
n=$(printf '%s' "$boot_refusals" | grep -c 'cause=')
[ "$n" = 0 ]; case_line "$prefix-zero-ima-refusals-during-boot" $? "$n refusal(s)${boot_refusals:+: $(echo "$boot_refusals" | head -5 | flat)}"
# The certificates were loaded before switch_root: the _ima keyring holds them (root's user
# keyring; /proc/keys shows "_ima: N" with N keys), and the boot integration said so on the console.
ring=$(grep -E ' keyring +(_ima|\.ima): ' /proc/keys | sed 's/.* keyring *//' | flat)
said=$( { dmesg; journalctl -b -o short -t signet; } 2>/dev/null | grep -o 'signet: .*' | sort -u | flat)
echo "$ring" | grep -qE '(_ima|\.ima): [1-9]'; case_line "$prefix-keys-loaded-before-switch-root" $? "keyring $ring; $said"
policy=$(journalctl -b -o cat 2>/dev/null | grep 'IMA custom policy' | head -3 | flat)
echo "$policy" | grep -q 'Successfully loaded the IMA custom policy'; case_line "$prefix-systemd-loaded-the-policy" $? "$policy"
boot=$(systemd-analyze 2>/dev/null | head -1)
mark "E2E-LOG $boot"

# Every refusal must be printed: IMA's audit lines go through printk's rate limit.
echo 0 > /proc/sys/kernel/printk_ratelimit
echo 10000 > /proc/sys/kernel/printk_ratelimit_burst
dmesg -c > /dev/null   # clears only the syslog view; journald reads /dev/kmsg on its own

# run_case NAME allow|deny OBJECT CMD...: allow passes when the command succeeds; deny passes when
# no payload ran and the kernel logged an IMA refusal (an audit line with cause=) with name="OBJECT".
run_case() {
  name=$1; expect=$2; object=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  kernel=$(dmesg -c | grep 'cause=' | flat)
  result=FAIL
  case $expect in
    allow) [ $rc -eq 0 ] && ! echo "$out" | grep -q PAYLOAD-RAN && result=PASS ;;
    deny) ! echo "$out" | grep -q PAYLOAD-RAN && echo "$kernel" | tr '|' '\n' | grep 'cause=' | grep -qF "name=\"$object\"" && result=PASS ;;
  esac
  mark "E2E-CASE name=$name result=$result detail=[rc=$rc out=$(echo "$out" | flat) kernel=$kernel]"
}

# raw_write_probe: tries to open the mounted root's block device and a disk nothing mounts for writing
raw_write_probe() {
  python3 - <<'PY' 2>&1
import errno, os
def try_open(dev):
    try:
        os.close(os.open(dev, os.O_WRONLY))
        return "opened"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
print(f"mounted-root={try_open('/dev/vda')} unmounted-disk={try_open('/dev/vdb')}")
PY
}
# posture_marker: signet posture as an operator runs it (a shared keyring, so it can list _ima);
# the JSON goes to the host base64-encoded on one marker line.
posture_marker() {
  out=$(systemd-run --wait --pipe --quiet -p KeyringMode=shared /usr/bin/signet posture --json 2>/dev/null); rc=$?
  mark "E2E-POSTURE rc=$rc json=$(printf '%s' "$out" | base64 -w0)"
}

# boot_log DIR: the firmware's TCG event log (when the kernel exposes one) and every PCR the kernel
# shows, as lines "<bank> <pcr> <hex>" (what `signet boot-reference check --pcrs` reads). PCRs 0-9
# do not change after boot; swtpm keeps them only while it runs, so they are read here.
boot_log() {
  if [ -e /sys/kernel/security/tpm0/binary_bios_measurements ]; then
    cat /sys/kernel/security/tpm0/binary_bios_measurements > "$1/eventlog.bin"
  fi
  : > "$1/pcrs.txt"
  for d in /sys/class/tpm/tpm0/pcr-*; do
    [ -d "$d" ] || continue
    bank=${d##*/pcr-}; n=0
    while [ $n -le 23 ]; do echo "$bank $n $(cat "$d/$n")" >> "$1/pcrs.txt"; n=$((n + 1)); done
  done
}
# evidence_disk: the virtio disk with serial signet-evidence (the ESP is another virtio disk)
evidence_disk() {
  for d in /sys/block/vd*; do
    [ "$(cat "$d/serial" 2>/dev/null)" = signet-evidence ] && { echo "/dev/${d##*/}"; return 0; }
  done
  return 1
}

active() {  # active NAME UNIT
  s=$(systemctl is-active "$2" 2>&1)
  [ "$s" = active ]; case_line "$1" $? "$2: $s"
}

case $mode in
enforce)
  active journald-active systemd-journald.service
  active udevd-active systemd-udevd.service
  active sshd-active ssh.service
  # The agent's unit from the package runs with KeyringMode=shared: a service possesses root's user
  # keyring only then, so `signet keyring list` sees _ima. Shown with transient services of both
  # modes: shared lists the key; private (systemd's default) fails and says how to fix it.
  km=$(systemctl show -p KeyringMode signet-agent.service 2>&1)
  [ "$km" = KeyringMode=shared ]; case_line agent-unit-keyring-mode-shared $? "signet-agent.service: $km"
  out=$(systemd-run --wait --pipe --quiet -p KeyringMode=shared /usr/bin/signet keyring list 2>&1); rc=$?
  [ $rc -eq 0 ] && echo "$out" | grep -qE 'keyring (_ima|\.ima) .*[1-9][0-9]* key'; case_line keyring-list-in-shared-service $? "rc=$rc $(echo "$out" | flat)"
  out=$(systemd-run --wait --pipe --quiet -p KeyringMode=private /usr/bin/signet keyring list 2>&1); rc=$?
  [ $rc -ne 0 ] && echo "$out" | grep -q 'KeyringMode=shared'; case_line keyring-list-in-private-service-explains $? "rc=$rc $(echo "$out" | flat)"
  run_case python3-runs allow - python3 -c 'import hashlib, json, ssl; print(hashlib.sha256(b"x").hexdigest()[:8])'
  run_case perl-runs allow - perl -MPOSIX -e 'print POSIX::floor(2.5), "\n"'
  run_case curl-runs allow - curl -sS --max-time 20 file:///etc/os-release
  run_case apt-get-runs allow - sh -c 'apt-get --version | head -1 && apt-cache policy | head -3'
  run_case signed-binary-runs allow - $E/hello
  run_case unsigned-binary-refused deny $E/payload-unsigned $E/payload-unsigned
  cp $E/payload-unsigned /tmp/payload && chmod +x /tmp/payload
  run_case tmp-copy-refused deny /tmp/payload /tmp/payload
  cp $E/payload-unsigned /dev/shm/payload && chmod +x /dev/shm/payload
  run_case dev-shm-copy-refused deny /dev/shm/payload /dev/shm/payload
  run_case memfd-fexecve-refused deny memfd:payload $E/memfd_exec $E/payload-unsigned
  run_case ld-preload-unsigned-refused deny $E/libevil.so env LD_PRELOAD=$E/libevil.so $E/hello
  run_case appended-byte-refused deny $E/hello-appended $E/hello-appended
  rm -f /tmp/payload /dev/shm/payload

  # Kernel code. The policy appraises MODULE_CHECK; `image prepare` put module.sig_enforce=1 on the
  # command line. insmod of a plain .ko uses finit_module (IMA appraises the file); of a .ko.xz,
  # kmod 30 decompresses it and uses init_module (no file: the kernel checks the module's own
  # signature). Debian's modules carry Debian's signature; Signet signed the tree.
  run_case signed-module-loads allow - sh -c "insmod $E/mod-signed.ko && grep -q '^dummy ' /proc/modules"
  run_case unsigned-module-refused deny $E/mod-unsigned.ko sh -c "insmod $E/mod-unsigned.ko; grep -q '^ifb ' /proc/modules && echo PAYLOAD-RAN"
  out=$(insmod $E/mod-nosig.ko.xz 2>&1); rc=$?
  kernel=$(dmesg -c | grep -E 'Loading of .* is rejected' | flat)
  loaded=$(grep -c '^nlmon ' /proc/modules)
  [ $rc -ne 0 ] && [ "$loaded" = 0 ] && [ -n "$kernel" ]
  case_line unsigned-module-from-buffer-refused $? "rc=$rc out=$(echo "$out" | flat) loaded=$loaded kernel=$kernel"
  run_case debian-module-modprobe-loads allow - sh -c 'modprobe veth && grep -q "^veth " /proc/modules'

  # Raw writes to the mounted root's block device (bdev_allow_write_mounted=0 from the image's boot
  # configuration): the open for writing is refused, so no block of a signed program can be
  # rewritten under IMA. /dev/vdb, a disk nothing mounts, opens for writing: the refusal is the option's.
  out=$(raw_write_probe)
  echo "$out" | grep -q 'mounted-root=EBUSY unmounted-disk=opened'
  case_line raw-block-write-refused $? "$(echo "$out" | flat) cmdline: $(grep -o 'bdev_allow_write_mounted=[^ ]*' /proc/cmdline)"
  posture_marker
  ;;
weakened)
  # The doors are real: with ima_appraise=log an unsigned program runs (the kernel only logs it),
  # and without bdev_allow_write_mounted=0 the mounted root's block device opens for writing.
  out=$($E/payload-unsigned 2>&1); rc=$?
  kernel=$(dmesg -c | grep 'cause=' | flat)
  [ $rc -eq 0 ] && echo "$out" | grep -q PAYLOAD-RAN
  case_line log-mode-runs-unsigned-program $? "rc=$rc out=$(echo "$out" | flat) kernel=$kernel"
  out=$(raw_write_probe)
  echo "$out" | grep -q 'mounted-root=opened'
  case_line raw-block-write-open-without-option $? "$(echo "$out" | flat)"
  posture_marker
  ;;
attest)
  nonce1=$(echo "$cmdline" | sed -n 's/.*signet\.nonce1=\([0-9a-f]*\).*/\1/p')
  nonce2=$(echo "$cmdline" | sed -n 's/.*signet\.nonce2=\([0-9a-f]*\).*/\1/p')
  ev=/run/e2e-evidence   # not $out: run_case sets that
  rm -rf "$ev"; mkdir -p "$ev"
  # The installed signet's agent: enroll an AK, quote the honest node, try an unsigned program
  # (refused, but measured first), quote again.
  signet agent enroll --tcti device:/dev/tpmrm0 --out "$ev/agent" > "$ev/enroll.txt" 2>&1
  case_line agent-enrolled $? "$(flat < "$ev/enroll.txt")"
  signet agent quote --tcti device:/dev/tpmrm0 --ak "$ev/agent" --nonce "$nonce1" --out "$ev/honest.json" > "$ev/quote1.txt" 2>&1
  case_line agent-quoted-honest-node $? "$(flat < "$ev/quote1.txt")"
  dmesg -c > /dev/null
  run_case attest-unsigned-program-refused deny $E/payload-unsigned $E/payload-unsigned
  # A signed library that a running process has mapped, rewritten in place: IMA cannot stop the
  # running process from executing the new bytes (the residual risk), but the open for writing of
  # a measured file in use is a ToMToU violation in the measurement log, so the next attestation
  # fails; a new mapping of the rewritten file is refused.
  rm -f /run/e2e-go; mkfifo /run/e2e-go
  $E/mapped_runner $E/libmapped.so < /run/e2e-go > /run/e2e-runner.out 2>&1 &
  runner=$!
  exec 7> /run/e2e-go
  i=0; while ! grep -q before= /run/e2e-runner.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  rewrite=$(python3 - <<'PY' 2>&1
path = "/opt/e2e/libmapped.so"
with open(path, "r+b") as f:   # opened for writing while mapped: IMA logs ToMToU
    data = f.read()
    old, new = bytes.fromhex("b844332211"), bytes.fromhex("b866554433")
    if data.count(old) != 1:
        print(f"pattern found {data.count(old)} times")
    else:
        f.seek(data.index(old)); f.write(new); print("rewritten")
PY
)
  echo go >&7; exec 7>&-
  wait $runner
  runner_out=$(flat < /run/e2e-runner.out)
  kernel=$(dmesg -c | grep 'cause=' | flat)
  echo "$rewrite" | grep -q rewritten && echo "$kernel" | tr '|' '\n' | grep 'cause=ToMToU' | grep -qF 'name="/opt/e2e/libmapped.so"'
  case_line rewritten-mapped-library-logged-tomtou $? "rewrite: $rewrite; runner: $runner_out; kernel=$kernel"
  mark "E2E-LOG residual: the process that had /opt/e2e/libmapped.so mapped printed [$runner_out] (after=0x33445566: it ran the rewritten bytes)"
  run_case rewritten-library-new-mapping-refused deny $E/libmapped.so sh -c "$E/mapped_runner $E/libmapped.so < /dev/null | grep -q before= && echo PAYLOAD-RAN"
  signet agent quote --tcti device:/dev/tpmrm0 --ak "$ev/agent" --nonce "$nonce2" --out "$ev/after-unsigned.json" > "$ev/quote2.txt" 2>&1
  case_line agent-quoted-after-unsigned-program $? "$(flat < "$ev/quote2.txt")"
  # what a direct -kernel boot under SeaBIOS leaves of the firmware's measurements (the host judges
  # it against the boot reference)
  boot_log "$ev"
  mark "E2E-LOG boot2 event log: $( [ -e "$ev/eventlog.bin" ] && echo "$(wc -c < "$ev/eventlog.bin") bytes" || echo "none (no /sys/kernel/security/tpm0/binary_bios_measurements)")"
  if tar -cf /dev/vdb -C "$ev" honest.json after-unsigned.json agent/ak.pem pcrs.txt $( [ -e "$ev/eventlog.bin" ] && echo eventlog.bin) && sync; then
    mark "E2E-EVIDENCE written"
  else
    mark "E2E-ERROR no evidence written"
  fi
  ;;
measured)
  nonce=$(echo "$cmdline" | sed -n 's/.*signet\.nonce=\([0-9a-f]*\).*/\1/p')
  ev=/run/e2e-evidence
  rm -rf "$ev"; mkdir -p "$ev"
  signet agent enroll --tcti device:/dev/tpmrm0 --out "$ev/agent" > "$ev/enroll.txt" 2>&1
  case_line "$prefix-agent-enrolled" $? "$(flat < "$ev/enroll.txt")"
  signet agent quote --tcti device:/dev/tpmrm0 --ak "$ev/agent" --nonce "$nonce" --out "$ev/evidence.json" > "$ev/quote.txt" 2>&1
  case_line "$prefix-agent-quoted" $? "$(flat < "$ev/quote.txt")"
  boot_log "$ev"
  sb=$(od -An -tx1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>&1 | tr -s ' ')
  [ -s "$ev/eventlog.bin" ] && grep -q '^sha256 8 ' "$ev/pcrs.txt"
  case_line "$prefix-event-log-exposed" $? "$(wc -c < "$ev/eventlog.bin" 2>&1) bytes, $(grep -c . "$ev/pcrs.txt") PCR values; SecureBoot efivar:$sb; lockdown: $(cat /sys/kernel/security/lockdown 2>&1)"
  if echo "$cmdline" | grep -q 'ima_appraise=log'; then
    # Under Secure Boot the kernel ignores ima_appraise= (it says so): the unsigned program is still
    # refused. The boot reference forbids the parameter all the same.
    said=$(journalctl -b -k -o cat 2>/dev/null | grep -i -e 'ima_appraise' -e 'secure boot' | grep -v -e '^Command line:' -e '^Kernel command line:')
    ignoring=$(echo "$said" | grep -m1 'ignoring ima_appraise=log')
    [ -n "$ignoring" ]
    case_line "$prefix-kernel-ignores-ima-appraise-log" $? "kernel: ${ignoring:-$(echo "${said:-nothing about ima_appraise or Secure Boot}" | flat)}"
    run_case "$prefix-unsigned-program-still-refused" deny $E/payload-unsigned $E/payload-unsigned
  fi
  posture_marker
  mark "E2E-LOG timeline (kernel uptime): booted ${up_booted}s, evidence ready $(cut -d' ' -f1 /proc/uptime)s"
  if dev=$(evidence_disk) && tar -cf "$dev" -C "$ev" . && sync; then
    mark "E2E-EVIDENCE written to $dev"
  else
    mark "E2E-ERROR no evidence written (evidence disk: ${dev:-none})"
  fi
  ;;
*)
  mark "E2E-ERROR unknown mode '$mode' (signet.e2e= on the kernel command line)"
  ;;
esac
# Nothing else was refused in this boot: every IMA audit line names one of the attacks.
others=$(refusals | grep -vF -e 'name="/opt/e2e/payload-unsigned"' -e 'name="/tmp/payload"' -e 'name="/dev/shm/payload"' \
  -e 'name="memfd:payload"' -e 'name="/opt/e2e/libevil.so"' -e 'name="/opt/e2e/hello-appended"' \
  -e 'name="/opt/e2e/mod-unsigned.ko"' -e 'name="/opt/e2e/libmapped.so"')
[ -z "$others" ]; case_line "$prefix-no-refusal-but-the-attacks" $? "$(echo "${others:-none}" | head -5 | flat)"
mark "E2E-DONE mode=$mode"
systemctl --no-block poweroff
