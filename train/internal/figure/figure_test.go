package figure

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// curves returns the study's three curves over n epochs, rising like
// accuracy does.
func curves(n int) []Curve {
	during, train, test := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x := float64(i) / float64(n)
		during[i] = 70 + 15*(1-math.Exp(-4*x))
		train[i] = 72 + 18*(1-math.Exp(-4*x))
		test[i] = 71 + 14*(1-math.Exp(-4*x))
	}
	return []Curve{
		{Name: "Prec. During", Color: Red, Y: during},
		{Name: "Prec. Train", Color: Blue, Y: train},
		{Name: "Prec. Test", Color: Green, Y: test},
	}
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// count returns the number of pixels of img within a small distance of c.
func count(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			d := math.Abs(float64(r>>8)-float64(r0>>8)) + math.Abs(float64(g>>8)-float64(g0>>8)) + math.Abs(float64(b>>8)-float64(b0>>8))
			if d < 40 {
				n++
			}
		}
	}
	return n
}

func TestAccuracy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sgd-16.png")
	require.NoError(t, Accuracy(path, "SGD, batch 16", curves(60)))

	img := decode(t, path)
	assert.Equal(t, image.Rect(0, 0, Width, Height), img.Bounds())
	for name, c := range map[string]color.Color{"red": Red, "blue": Blue, "green": Green} {
		assert.Greater(t, count(img, c), 300, "%s pixels", name)
	}
	assert.Greater(t, count(img, color.White), Width*Height/2, "white background")

	// Only the temporary file's rename target is left behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "sgd-16.png", entries[0].Name())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

// A colour that no curve uses does not appear.
func TestAccuracyOnlyGivenColours(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.png")
	require.NoError(t, Accuracy(path, "two curves", curves(10)[:2]))
	img := decode(t, path)
	assert.Greater(t, count(img, Red), 100)
	assert.Greater(t, count(img, Blue), 100)
	assert.Zero(t, count(img, Green))
}

// Overwriting an existing figure works, and a single epoch is drawable.
func TestAccuracyOverwriteAndOneEpoch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.png")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, Accuracy(path, "one", []Curve{{Name: "x", Y: []float64{50}}}))
	assert.Equal(t, image.Rect(0, 0, Width, Height), decode(t, path).Bounds())

	// A single epoch is a marked point, not an invisible line.
	require.NoError(t, Accuracy(path, "one", []Curve{{Name: "x", Color: Red, Y: []float64{50}}}))
	assert.Greater(t, count(decode(t, path), Red), 20)
}

func TestAccuracyErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.png")
	cases := []struct {
		name   string
		curves []Curve
		msg    string
	}{
		{"no curves", nil, "figure: " + path + ": no curves"},
		{"empty curve", []Curve{{Name: "a", Y: nil}}, `figure: ` + path + `: curve "a" has no points`},
		{"mismatched lengths", []Curve{{Name: "a", Y: []float64{1, 2}}, {Name: "b", Y: []float64{1}}},
			`figure: ` + path + `: curves of different lengths: "a" has 2 points, "b" has 1`},
		{"NaN", []Curve{{Name: "a", Y: []float64{1, math.NaN()}}}, `figure: ` + path + `: curve "a": epoch 2: accuracy is NaN`},
		{"Inf", []Curve{{Name: "a", Y: []float64{math.Inf(1)}}}, `figure: ` + path + `: curve "a": epoch 1: accuracy is +Inf`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Accuracy(path, "t", c.curves)
			require.Error(t, err)
			assert.Equal(t, c.msg, err.Error())
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written on error")

	err = Accuracy(filepath.Join(dir, "no", "such", "dir.png"), "t", curves(3))
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestGrid(t *testing.T) {
	var panels []Panel
	for _, opt := range []string{"SGD", "Adam"} {
		for _, b := range []string{"16", "64", "100"} {
			panels = append(panels, Panel{Title: opt + ", batch " + b, Curves: curves(60)})
		}
	}
	path := filepath.Join(t.TempDir(), "grid.png")
	require.NoError(t, Grid(path, panels, 3))
	img := decode(t, path)
	assert.Equal(t, image.Rect(0, 0, 3*PanelWidth, 2*PanelHeight), img.Bounds())

	// Every panel has all three colours.
	for r := range 2 {
		for c := range 3 {
			sub := img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(image.Rect(c*PanelWidth, r*PanelHeight, (c+1)*PanelWidth, (r+1)*PanelHeight))
			for name, col := range map[string]color.Color{"red": Red, "blue": Blue, "green": Green} {
				assert.Greater(t, count(sub, col), 100, "panel %d,%d: %s pixels", r, c, name)
			}
		}
	}
}

// An incomplete last row is left blank; cols above the panel count shrink.
func TestGridShapes(t *testing.T) {
	dir := t.TempDir()
	five := make([]Panel, 5)
	for i := range five {
		five[i] = Panel{Title: "p", Curves: curves(5 + i)}
	}
	p := filepath.Join(dir, "five.png")
	require.NoError(t, Grid(p, five, 2))
	img := decode(t, p)
	assert.Equal(t, image.Rect(0, 0, 2*PanelWidth, 3*PanelHeight), img.Bounds())
	blank := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(PanelWidth+40, 2*PanelHeight+40, 2*PanelWidth-40, 3*PanelHeight-40))
	assert.Zero(t, count(blank, Red)+count(blank, Blue)+count(blank, Green))

	p = filepath.Join(dir, "two.png")
	require.NoError(t, Grid(p, five[:2], 3))
	assert.Equal(t, image.Rect(0, 0, 2*PanelWidth, PanelHeight), decode(t, p).Bounds())
}

func TestGridErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.png")
	err := Grid(path, nil, 3)
	require.Error(t, err)
	assert.Equal(t, "figure: "+path+": no panels", err.Error())

	err = Grid(path, []Panel{{Curves: curves(3)}}, 0)
	require.Error(t, err)
	assert.Equal(t, "figure: "+path+": 0 columns, want at least 1", err.Error())

	err = Grid(path, []Panel{{Title: "ok", Curves: curves(3)}, {Title: "Adam, batch 16"}}, 2)
	require.Error(t, err)
	assert.Equal(t, `figure: `+path+`: panel 2 ("Adam, batch 16"): no curves`, err.Error())
	_, statErr := os.Stat(path)
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}

func TestEpochTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var l []string
		for _, tk := range (epochTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return l
	}
	assert.Equal(t, []string{"1", "2"}, labels(1, 2))
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}, labels(1, 11))
	assert.Equal(t, []string{"2", "4", "6", "8", "10", "12", "14", "16", "18", "20"}, labels(1, 20))
	assert.Equal(t, []string{"1", "10", "20", "30", "40", "50", "60"}, labels(1, 60))
	assert.Equal(t, []string{"1", "200", "400", "600", "800", "1000", "1200"}, labels(1, 1200))
	assert.Len(t, (epochTicks{}).Ticks(1, 60), 60)
	assert.Equal(t, 1, tickStep(0))
	assert.Equal(t, 5, tickStep(50))
	assert.Equal(t, 10, tickStep(59))
}
