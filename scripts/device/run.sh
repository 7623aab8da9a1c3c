#!/usr/bin/env bash
# The device check (see pack.sh): GPU tests with their figures, FDK and SPECT benchmarks
# (end to end and kernel only), and the two-bed study jointly on the GPU and on the CPU and
# stitched on the GPU, each volume back in $OUT for comparison.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export XDG_RUNTIME_DIR=$(mktemp -d)
(cd .dev && python3 -c "import tarfile; [tarfile.open(f).extractall('.') for f in ('devbin.tar.xz', 'data.tar.xz')]")
B=$PWD/.dev/devbin; D=$PWD/.dev/data/spect_ct_lu177_two_beds; L=$OUT/log.txt
step() { echo "=== $(date +%T) $*" | tee -a "$L"; }
step info; timeout 60 "$B/tomors" info 2>&1 | tee -a "$L"
for t in lib cone osem parity spect spect_beds; do
    step "GPU tests: $t"; timeout 150 "$B/$t" --ignored --nocapture --test-threads 1 2>&1 | tee -a "$L"
done
step "FDK, gpu"; timeout 120 "$B/tomors" bench --cases cbct256,cbct512 --backends gpu --ops fbp --repeat 3 2>&1 | tee -a "$L"
step "FDK, cpu"; timeout 90 "$B/tomors" bench --cases cbct256,cbct512 --backends cpu --ops fbp --repeat 2 2>&1 | tee -a "$L"
step "SPECT, gpu"; timeout 90 "$B/tomors" bench --cases spect --backends gpu --repeat 3 2>&1 | tee -a "$L"
for be in gpu cpu; do
    step "two beds jointly, $be"
    ( time timeout 120 "$B/tomors" recon-spect "$D/NM/bed1_projections.dcm" "$D/CT" "/tmp/j$be" \
        --bed "$D/NM/bed2_projections.dcm" --kev 208 --backend $be ) 2>&1 | tee -a "$L"
    cp "/tmp/j$be/recon.nii.gz" "$OUT/joint_$be.nii.gz"
done
step "two beds stitched, gpu"
timeout 120 "$B/tomors" recon-spect "$D/NM/bed1_projections.dcm" "$D/CT" /tmp/sgpu \
    --bed "$D/NM/bed2_projections.dcm" --stitch --kev 208 --backend gpu 2>&1 | tee -a "$L"
cp /tmp/sgpu/recon.nii.gz "$OUT/stitched_gpu.nii.gz"
step done
