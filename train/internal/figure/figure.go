// Package figure draws accuracy curves as PNG figures, in the style of the
// study's figures: accuracy (%) against the epoch, one line per metric
// (in the study red for "Prec. During", blue for "Prec. Train" and green for
// "Prec. Test"), with a legend, axis labels and a title.
//
// Accuracy draws one such plot; Grid tiles several (the six runs, say) into
// one image. Files are written atomically: the PNG is written to a
// temporary file in the destination directory, which is then renamed.
package figure

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"github.com/simdmlp/simdmlp/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Sizes of the figures, in pixels at DPI dots per inch.
const (
	DPI = 96
	// Width and Height are the size of a figure drawn by Accuracy.
	Width, Height = 900, 600
	// PanelWidth and PanelHeight are the size of one panel of a Grid.
	PanelWidth, PanelHeight = 600, 420
)

// Colours of the study's three curves.
var (
	Red   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // "Prec. During"
	Blue  = color.RGBA{R: 0x1f, G: 0x4e, B: 0xd8, A: 0xff} // "Prec. Train"
	Green = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff} // "Prec. Test"
)

// Curve is one line of a figure.
type Curve struct {
	// Name is the curve's legend entry, e.g. "Prec. Test".
	Name string
	// Color is the line colour; nil means black.
	Color color.Color
	// Y holds the accuracy in percent after each epoch: Y[i] is the value
	// after epoch i+1.
	Y []float64
}

// Panel is one plot of a Grid: a title and its curves.
type Panel struct {
	Title  string
	Curves []Curve
}

// Accuracy draws curves (accuracy in percent against the epoch, 1..N) with
// the given title, e.g. "SGD, batch 16", and writes the figure to path as a
// Width x Height PNG. The curves must be non-empty, all of the same
// non-zero length, with finite values.
func Accuracy(path, title string, curves []Curve) error {
	p, err := newPlot(title, curves)
	if err != nil {
		return fmt.Errorf("figure: %s: %w", path, err)
	}
	c := vgimg.NewWith(vgimg.UseWH(pixels(Width), pixels(Height)), vgimg.UseDPI(DPI))
	m := 3 * vg.Millimeter // margin, so that the title and tick labels are not clipped
	p.Draw(draw.Crop(draw.New(c), m, -m, m, -m))
	return writePNG(path, c)
}

// Grid draws the panels as a grid of plots, cols plots wide and as many
// rows as needed (the last row may be incomplete), and writes it to path
// as a PNG of cols*PanelWidth x rows*PanelHeight pixels. The plot areas
// of all panels are aligned and of equal size. Every panel must satisfy
// the conditions of Accuracy; the panels may differ in their number of
// epochs.
func Grid(path string, panels []Panel, cols int) error {
	if len(panels) == 0 {
		return fmt.Errorf("figure: %s: no panels", path)
	}
	if cols <= 0 {
		return fmt.Errorf("figure: %s: %d columns, want at least 1", path, cols)
	}
	cols = min(cols, len(panels))
	rows := (len(panels) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols) // nil cells are left blank
	}
	for i, pan := range panels {
		p, err := newPlot(pan.Title, pan.Curves)
		if err != nil {
			return fmt.Errorf("figure: %s: panel %d (%q): %w", path, i+1, pan.Title, err)
		}
		plots[i/cols][i%cols] = p
	}

	c := vgimg.NewWith(vgimg.UseWH(pixels(cols*PanelWidth), pixels(rows*PanelHeight)), vgimg.UseDPI(DPI))
	tiles := draw.Tiles{
		Rows: rows, Cols: cols,
		PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3,
	}
	canvases := plot.Align(plots, tiles, draw.New(c))
	for r, row := range plots {
		for col, p := range row {
			if p != nil {
				p.Draw(canvases[r][col])
			}
		}
	}
	return writePNG(path, c)
}

// newPlot checks curves and builds their plot.
func newPlot(title string, curves []Curve) (*plot.Plot, error) {
	if len(curves) == 0 {
		return nil, errors.New("no curves")
	}
	n := len(curves[0].Y)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		if len(c.Y) == 0 {
			return nil, fmt.Errorf("curve %q has no points", c.Name)
		}
		if len(c.Y) != n {
			return nil, fmt.Errorf("curves of different lengths: %q has %d points, %q has %d",
				curves[0].Name, n, c.Name, len(c.Y))
		}
		for i, y := range c.Y {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				return nil, fmt.Errorf("curve %q: epoch %d: accuracy is %v", c.Name, i+1, y)
			}
			lo, hi = min(lo, y), max(hi, y)
		}
	}

	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "Epoch"
	p.Y.Label.Text = "Accuracy (%)"
	p.X.Min, p.X.Max = 1, float64(max(n, 2))
	p.X.Tick.Marker = epochTicks{}
	// A little room above and below the data, within 0..100 where the
	// data allow.
	pad := max((hi-lo)*0.05, 0.5)
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	if lo >= 0 {
		p.Y.Min = max(p.Y.Min, 0)
	}
	if hi <= 100 {
		p.Y.Max = min(p.Y.Max, 100)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = false // lower right: accuracy curves rise
	p.Legend.Left = false
	p.Legend.Padding = vg.Millimeter
	p.Legend.XOffs = -2 * vg.Millimeter // off the axes
	p.Legend.YOffs = 2 * vg.Millimeter

	for _, c := range curves {
		xy := make(plotter.XYs, n)
		for i, y := range c.Y {
			xy[i] = plotter.XY{X: float64(i + 1), Y: y}
		}
		col := c.Color
		if col == nil {
			col = color.Black
		}
		line, points, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("curve %q: %w", c.Name, err)
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		p.Add(line)
		if n <= markMax {
			// Few epochs: mark the points (a single one has no line).
			points.Color = col
			points.Shape = draw.CircleGlyph{}
			points.Radius = vg.Points(2.5)
			p.Add(points)
			p.Legend.Add(c.Name, line, points)
		} else {
			p.Legend.Add(c.Name, line)
		}
	}
	return p, nil
}

// markMax is the largest number of epochs for which the points of a curve
// are marked as well as joined.
const markMax = 20

// epochTicks puts major, labelled ticks on the multiples of a step of 1,
// 2 or 5 times a power of ten, chosen for at most ten intervals (and on the
// first epoch when the step is 5 or more), and minor ticks on the other
// whole epochs when there are not too many.
type epochTicks struct{}

// Ticks implements plot.Ticker.
func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(math.Ceil(lo)), int(math.Floor(hi))
	span := last - first
	step := tickStep(span)
	var ticks []plot.Tick
	for e := first; e <= last; e++ {
		switch {
		case e%step == 0 || (e == first && step >= 5):
			ticks = append(ticks, plot.Tick{Value: float64(e), Label: strconv.Itoa(e)})
		case span <= 200:
			ticks = append(ticks, plot.Tick{Value: float64(e)})
		}
	}
	return ticks
}

// tickStep returns the smallest of 1, 2, 5, 10, 20, 50, ... that cuts span
// into at most ten intervals.
func tickStep(span int) int {
	for decade := 1; ; decade *= 10 {
		for _, m := range []int{1, 2, 5} {
			if span/(m*decade) <= 10 {
				return m * decade
			}
		}
	}
}

// pixels converts a size in pixels at DPI to a vg.Length.
func pixels(px int) vg.Length { return vg.Length(px) * vg.Inch / DPI }

// writePNG encodes c as PNG and writes it to path atomically.
func writePNG(path string, c *vgimg.Canvas) error {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return fmt.Errorf("figure: %s: encoding PNG: %w", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("figure: %w", err)
	}
	return nil
}
