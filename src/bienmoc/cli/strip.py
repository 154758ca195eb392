"""``bienmoc strip``: the strip map of a border section, as SVG or PNG (by the file suffix)."""
from __future__ import annotations

import click

from bienmoc.cli.main import DATE, MSG, OUTPUT, UserError, _store, border_option
from bienmoc.maps.strip import strip_svg, svg_to_png

MSG.update({
    "strip_suffix": ("tệp ra phải có đuôi .svg hoặc .png: {path}",
                     "the output file must end in .svg or .png: {path}"),
})


@click.command()
@click.option("--border", required=True, metavar="CODE", help="Border: CN, LA, KH.")
@click.option("--from-km", "from_km", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Start chainage (km).")
@click.option("--to-km", "to_km", type=click.FloatRange(min=0), required=True,
              help="End chainage (km).")
@click.option("--as-of", "as_of", default=None, type=DATE,
              help="Works' status as of this date (default today).")
@click.option("--output", "-o", required=True, type=OUTPUT, help="strip.svg or strip.png")
@click.option("--dem", "dem_path", default=None, metavar="PATH",
              help="Add a terrain profile band from this DEM.")
@click.pass_context
def strip(ctx, border, from_km, to_km, as_of, output, dem_path):
    """Strip map of a border section: markers, stakes, gates, works, incidents by chainage
    (and the terrain profile with --dem)."""
    suffix = output.lower().rsplit(".", 1)[-1]
    if suffix not in ("svg", "png"):
        raise UserError("strip_suffix", path=output)
    dem = None
    if dem_path is not None:
        from bienmoc.cli.terrain import _open

        dem = _open(dem_path)
    try:
        svg = strip_svg(_store(ctx), border_option(ctx, border), from_km, to_km, as_of=as_of,
                        lang=ctx.find_root().obj.get("lang") or "vi", dem=dem)
    finally:
        if dem is not None:
            dem.close()
    if suffix == "png":
        with open(output, "wb") as fh:
            fh.write(svg_to_png(svg))
    else:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(svg)
    click.echo(output)
