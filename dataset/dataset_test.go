package dataset

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeSet writes a small valid data set into dir: 5 training and 3 test
// images of 2x3, the image files gzip-compressed, the label files raw.
func writeSet(t testing.TB, dir string) {
	t.Helper()
	writeFile(t, dir, TrainImages+".gz", gz(t, imagesFile(5)))
	writeFile(t, dir, TrainLabels, labelsFile(5))
	writeFile(t, dir, TestImages+".gz", gz(t, imagesFile(3)))
	writeFile(t, dir, TestLabels, labelsFile(3))
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir)
	train, test, err := Load(dir)
	require.NoError(t, err)

	assert.Equal(t, 5, train.N)
	assert.Equal(t, 2, train.Rows)
	assert.Equal(t, 3, train.Cols)
	assert.Equal(t, 6, train.Features())
	assert.Equal(t, seq(30), train.Images)
	assert.Equal(t, []uint8{0, 1, 2, 3, 4}, train.Labels)
	assert.Equal(t, []uint8{6, 7, 8, 9, 10, 11}, train.Image(1))

	assert.Equal(t, 3, test.N)
	assert.Len(t, test.Images, 18)
	assert.Len(t, test.Labels, 3)
}

// Compression is sniffed from the contents, never the file name.
func TestLoadIgnoresFileNames(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, TrainImages+".gz", imagesFile(5))  // raw data, .gz name
	writeFile(t, dir, TrainLabels, gz(t, labelsFile(5))) // gzip data, no .gz name
	writeFile(t, dir, TestImages, imagesFile(3))
	writeFile(t, dir, TestLabels+".gz", gz(t, labelsFile(3)))
	train, test, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, 5, train.N)
	assert.Equal(t, 3, test.N)
}

func TestLoadPrefersRaw(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir)
	writeFile(t, dir, TrainImages, imagesFile(5))
	writeFile(t, dir, TrainImages+".gz", []byte("broken")) // would fail if read
	_, _, err := Load(dir)
	require.NoError(t, err)
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		require.NoError(t, removeFile(dir, TestLabels))
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrNotFound)
		assert.Equal(t, "dataset: "+filepath.Join(dir, TestLabels)+": not found (nor t10k-labels-idx1-ubyte.gz)", err.Error())
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, filepath.Join(dir, TestLabels), fe.Path)
	})
	t.Run("not gzip but .gz name", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		p := writeFile(t, dir, TrainImages+".gz", []byte("<html>404 Not Found</html>"))
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrFormat)
		assert.Equal(t, "dataset: "+p+": bad magic number 0x3c68746d: not an IDX file (nor gzip-compressed); want 0x00000803 (IDX images)", err.Error())
	})
	t.Run("empty file", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		p := writeFile(t, dir, TestImages+".gz", nil)
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrFormat)
		assert.Equal(t, "dataset: "+p+": empty file", err.Error())
	})
	t.Run("truncated", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		p := writeFile(t, dir, TrainImages+".gz", gz(t, imagesFile(5)[:20]))
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrFormat)
		assert.Equal(t, "dataset: "+p+": truncated: header says 5 images of 2x3 (30 bytes), file holds 4", err.Error())
	})
	t.Run("count mismatch", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		p := writeFile(t, dir, TestLabels, labelsFile(2))
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrFormat)
		assert.Equal(t, "dataset: "+filepath.Join(dir, TestImages+".gz")+" and "+p+": count mismatch: 3 images but 2 labels", err.Error())
	})
	t.Run("label out of range", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		p := writeFile(t, dir, TrainLabels, idx(MagicLabels, []uint32{5}, []byte{1, 2, 3, 4, 10}))
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrFormat)
		assert.Equal(t, "dataset: "+p+": label 10 at index 4 is out of range: want 0..9", err.Error())
	})
	t.Run("image size mismatch", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		writeFile(t, dir, TestImages+".gz", idx(MagicImages, []uint32{3, 3, 2}, seq(18)))
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrFormat)
		assert.Contains(t, err.Error(), "image size mismatch: training images are 2x3, test images 3x2")
	})
	t.Run("directory instead of file", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir)
		require.NoError(t, removeFile(dir, TestLabels))
		writeFile(t, filepath.Join(dir, TestLabels), "x", nil)
		_, _, err := Load(dir)
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestLoadFilesUnreadable(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadFiles(filepath.Join(dir, "nope"), filepath.Join(dir, "nope2"))
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, "dataset: "+filepath.Join(dir, "nope")+": not found", err.Error())
}
