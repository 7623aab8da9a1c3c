"""RTK reads the geometry file tomors writes: the same projection matrices RTK builds itself
from the same parameters, and FDK of an offset-detector (half-fan) scan through that file
matches tomors's own FDK (RMSE against the phantom).

    python python/benchmarks/rtk_geometry_check.py      # needs tomors and itk-rtk
"""
import tempfile
from pathlib import Path

import itk
import numpy as np

import tomors
from itk import RTK as rtk
angles = np.arange(180) * 2 * np.pi / 180
geom = tomors.ConeBeam(angles, 96, 96, 1.25, 1.25, 300.0, 500.0, col_offset=34.0, row_offset=-2.0)
path = str(Path(tempfile.mkdtemp()) / 'off.xml')
tomors.io.write_rtk_geometry(path, geom)
r = rtk.ThreeDCircularProjectionGeometryXMLFileReader.New(); r.SetFilename(path); r.GenerateOutputInformation()
g = r.GetOutputObject()
ref = rtk.ThreeDCircularProjectionGeometry.New()
for b in angles: ref.AddProjection(300.0, 500.0, float(np.degrees(b)), 34.0, -2.0)
def mat(geo, i):
    m = geo.GetMatrix(i)
    return np.array([[m(r, c) for c in range(4)] for r in range(3)])
d = max(np.abs(mat(g, i) - mat(ref, i)).max() for i in range(180))
print('RTK matrices from tomors file vs RTK AddProjection: max diff', d)
n = 96
grid = tomors.ImageGrid((n, n, n), spacing=1.0)
data = tomors.shepp_logan_sinogram(geom, grid, radius=44.0)
ours = tomors.fdk(data, tomors.Projector(geom, grid, backend='cpu'))
img = itk.image_from_array(np.ascontiguousarray(data)); img.SetSpacing([1.25, 1.25, 1.0]); img.SetOrigin([-(n-1)/2*1.25, -(n-1)/2*1.25, 0.0])
T = itk.Image[itk.F, 3]
src = rtk.ConstantImageSource[T].New(); src.SetOrigin([-(n-1)/2]*3); src.SetSpacing([1.0]*3); src.SetSize([n]*3); src.SetConstant(0.)
disp = rtk.DisplacedDetectorImageFilter[T].New(); disp.SetInput(img); disp.SetGeometry(g)
f = rtk.FDKConeBeamReconstructionFilter[T].New(); f.SetInput(0, src.GetOutput()); f.SetInput(1, disp.GetOutput()); f.SetGeometry(g); f.Update()
theirs = itk.array_from_image(f.GetOutput()).transpose(1, 0, 2)[:, ::-1, :]
truth = tomors.shepp_logan(grid, radius=44.0, supersample=2)
c = (n-1)/2; z, y, x = np.mgrid[0:n, 0:n, 0:n]
m = (((x-c)/(0.69*44))**2 + ((y-c)/(0.92*44))**2 < 0.64) & (np.abs(z-c) < 0.4*44)
rm = lambda v: float(np.sqrt(np.mean((v[m]-truth[m])**2)))
print('offset-detector FDK RMSE: tomors', rm(ours), 'RTK (geometry from the tomors file)', rm(theirs))
