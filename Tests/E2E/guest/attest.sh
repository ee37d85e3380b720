#!/bin/sh
# Attestation boot: load a measure (+appraise) policy, run the signed workload,
# then quote with the TPM (swtpm behind qemu's tpm-tis) and write the evidence
# and the AK's public key to the second disk (/dev/vdb) as a tar archive.
#   attest          exec-signed + measure-tcb: the honest node
#   attest-unsigned measure-tcb only: an unsigned program runs and is measured
mode=$1
nonce=$(sed -n 's/.*signet\.nonce=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
case $mode in
  attest) policy=/etc/ima/attest.policy ;;
  attest-unsigned) policy=/etc/ima/measure-only.policy ;;
esac
signet policy load "$policy" 2>&1 | sed 's/^/E2E-LOG /'
/opt/e2e/hello-rsa | sed 's/^/E2E-LOG workload: /'
/opt/e2e/dlopen_test /opt/e2e/libgood.so | sed 's/^/E2E-LOG workload: /'
if [ "$mode" = attest-unsigned ]; then
  /opt/e2e/payload-unsigned | sed 's/^/E2E-LOG unsigned: /'
fi
mkdir -p /tmp/out
signet agent enroll --tcti device:/dev/tpmrm0 --out /tmp/out/agent 2>&1 | sed 's/^/E2E-LOG /'
signet agent quote --tcti device:/dev/tpmrm0 --ak /tmp/out/agent --nonce "$nonce" --out /tmp/out/evidence.json 2>&1 | sed 's/^/E2E-LOG /'
if [ -s /tmp/out/evidence.json ] && tar -cf /dev/vdb -C /tmp/out evidence.json agent/ak.pem; then
  echo "E2E-EVIDENCE written"
else
  echo "E2E-ERROR no evidence"
fi
