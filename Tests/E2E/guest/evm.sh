#!/bin/sh
# EVM boot: the EVM certificate into _evm, EVM on with x509 signatures only
# (echo 2 > /sys/kernel/security/evm: EVM_INIT_X509; portable signatures need
# no more), then an IMA policy that appraises the EVM test disk (/dev/vdb,
# mounted read-write at /mnt/evm) — IMA asks EVM about security.ima on every
# appraisal. One marker per case, as in rootfs-init.sh:
#   E2E-CASE name=… expect=… result=PASS|FAIL rc=… out=[…] kernel=[…]
M=/mnt/evm
check() { if [ "$2" = 0 ]; then r=PASS; else r=FAIL; fi; echo "E2E-CASE name=$1 expect=check result=$r rc=$2 out=[$3] kernel=[]"; }

echo "E2E-STEP evm"
mount -t ext4 /dev/vdb $M || echo "E2E-ERROR cannot mount /dev/vdb on $M"
out=$(signet keyring load --keyring evm /etc/keys/ima/*.der 2>&1); rc=$?
echo "$out" | sed 's/^/E2E-LOG /'
check evm-certificate-in-evm-keyring $rc "$(echo "$out" | tr '\n' '|')"
echo 2 > /sys/kernel/security/evm; rc=$?
state=$(cat /sys/kernel/security/evm)
[ $rc -eq 0 ] && [ "$state" = 2 ]; check evm-enabled-x509 $? "evm=$state"
out=$(signet policy load /etc/ima/evm.policy 2>&1); rc=$?
echo "$out" | sed 's/^/E2E-LOG /'
check evm-policy-loaded $rc "$(echo "$out" | tr '\n' '|')"

# evm_case NAME run|deny|deny-change OBJECT CAUSE CMD...
#   run:         the command succeeds and the program ran (PAYLOAD-RAN)
#   deny:        exec refused; the kernel logged an IMA audit line cause=CAUSE name="OBJECT"
#   deny-change: the metadata change failed (EPERM) and, when CAUSE is not '-', the kernel
#                logged op=appraise_metadata cause=CAUSE name="OBJECT" (EVM names the basename)
evm_case() {
  name=$1; expect=$2; object=$3; cause=$4; shift 4
  dmesg -c > /dev/null
  out=$("$@" 2>&1); rc=$?
  kernel=$(dmesg | grep -E 'cause=|integrity|EVM' | tr '\n' '|' | tr -s ' ')
  out1=$(echo "$out" | tr '\n' '|')
  result=FAIL
  case $expect in
    run) [ $rc -eq 0 ] && echo "$out" | grep -q PAYLOAD-RAN && result=PASS ;;
    deny) [ $rc -ne 0 ] && ! echo "$out" | grep -q PAYLOAD-RAN \
            && echo "$kernel" | grep "cause=$cause" | grep -qF "name=\"$object\"" && result=PASS ;;
    deny-change)
      if [ $rc -ne 0 ] && echo "$out" | grep -q "Operation not permitted"; then
        if [ "$cause" = - ] || echo "$kernel" | grep "op=appraise_metadata" | grep "cause=$cause" | grep -qF "name=\"$object\""; then
          result=PASS
        fi
      fi ;;
  esac
  echo "E2E-CASE name=$name expect=$expect result=$result rc=$rc out=[$out1] kernel=[$kernel]"
}

evm_case evm-signed-binary-runs           run  -                    -                      $M/evm-ok
# Changed on the disk after signing (an attacker with the disk, or root before EVM was on):
evm_case evm-offline-chmod-refused        deny $M/evm-chmod         invalid-fail-immutable $M/evm-chmod
evm_case evm-offline-chown-refused        deny $M/evm-chown         invalid-fail-immutable $M/evm-chown
evm_case evm-offline-setcap-refused       deny $M/evm-setcap        invalid-fail-immutable $M/evm-setcap
# A good security.ima moved onto another file with the same content (no security.evm there):
evm_case evm-copied-ima-refused           deny $M/evm-ima-copied    missing-HMAC           $M/evm-ima-copied
# A root attacker in the running system: EVM refuses the change itself.
evm_case evm-runtime-chmod-refused        deny-change evm-runtime   pass_immutable         chmod 4755 $M/evm-runtime
evm_case evm-runtime-chown-refused        deny-change evm-runtime   pass_immutable         chown 1000:1000 $M/evm-runtime
evm_case evm-runtime-setcap-refused       deny-change evm-runtime   -                      /opt/e2e/setcap $M/evm-runtime
evm_case evm-runtime-target-still-runs    run  -                    -                      $M/evm-runtime
