# Block-averages a CT series 2 x 2 in-plane (512^2 -> 256^2) for carrying to the device
# machine: HU averaged in blocks, Image Position moved to the centre of the first block, the
# pixel spacing doubled. Usage: decimate_ct.py SRC_DIR DST_DIR (needs pydicom).
import sys, pathlib, numpy as np, pydicom
src, dst = map(pathlib.Path, sys.argv[1:3])
for f in sorted(src.iterdir()):
    ds = pydicom.dcmread(f)
    a = ds.pixel_array.astype(np.float64)
    b = a.reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2).mean(axis=(1, 3))
    out = np.round(b).astype(ds.pixel_array.dtype)
    dr, dc = map(float, ds.PixelSpacing)
    o = [float(v) for v in ds.ImageOrientationPatient]
    p = [float(v) for v in ds.ImagePositionPatient]
    # half a pixel along rows and columns
    p = [p[i] + 0.5 * dc * o[i] + 0.5 * dr * o[3 + i] for i in range(3)]
    ds.ImagePositionPatient = [f"{v:.4f}" for v in p]
    ds.PixelSpacing = [f"{dr*2:.6f}", f"{dc*2:.6f}"]
    ds.Rows, ds.Columns = out.shape
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.PixelData = out.tobytes()
    ds.save_as(dst / f.name, enforce_file_format=True)
