package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idx builds an IDX file from a magic number, dimensions and payload.
func idx(magic uint32, dims []uint32, payload []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(payload)
	return b.Bytes()
}

// gz compresses b.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out.Bytes()
}

// seq returns n bytes 0, 1, 2, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// imagesFile is a valid image file of n images of 2x3.
func imagesFile(n int) []byte {
	return idx(MagicImages, []uint32{uint32(n), 2, 3}, seq(n*6))
}

// labelsFile is a valid label file of labels i%10.
func labelsFile(n int) []byte {
	l := make([]byte, n)
	for i := range l {
		l[i] = byte(i % Classes)
	}
	return idx(MagicLabels, []uint32{uint32(n)}, l)
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestReadImagesRawAndGzip(t *testing.T) {
	raw := imagesFile(4)
	for name, data := range map[string][]byte{"raw": raw, "gzip": gz(t, raw)} {
		t.Run(name, func(t *testing.T) {
			x, err := ReadImages(bytes.NewReader(data))
			require.NoError(t, err)
			assert.Equal(t, []int{4, 2, 3}, x.Dims)
			assert.Equal(t, seq(24), x.Data)
		})
	}
}

func TestReadLabelsRawAndGzip(t *testing.T) {
	raw := labelsFile(25)
	for name, data := range map[string][]byte{"raw": raw, "gzip": gz(t, raw)} {
		t.Run(name, func(t *testing.T) {
			l, err := ReadLabels(bytes.NewReader(data))
			require.NoError(t, err)
			require.Len(t, l, 25)
			assert.Equal(t, uint8(9), l[19])
		})
	}
}

func TestReadIDXAnyDims(t *testing.T) {
	x, err := ReadIDX(bytes.NewReader(idx(0x00000802, []uint32{3, 4}, seq(12))))
	require.NoError(t, err)
	assert.Equal(t, []int{3, 4}, x.Dims)
	assert.Len(t, x.Data, 12)
}

func TestReadErrors(t *testing.T) {
	badCRC := gz(t, labelsFile(5))
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 field of the gzip trailer
	goodGz := gz(t, imagesFile(3))

	cases := []struct {
		name   string
		read   func([]byte) error
		data   []byte
		errMsg string // the exact message
	}{
		{"empty file", images, nil, "empty file"},
		{"truncated magic", images, []byte{0, 0, 8}, "truncated header: 3 of the 4 magic bytes"},
		{"truncated dims", images, idx(MagicImages, []uint32{3}, nil), "truncated header: 4 of the 12 dimension bytes"},
		{"truncated payload", images, idx(MagicImages, []uint32{3, 2, 2}, seq(5)),
			"truncated: header says 3 images of 2x2 (12 bytes), file holds 5"},
		{"truncated labels", labels, idx(MagicLabels, []uint32{60000}, seq(7)),
			"truncated: header says 60000 labels (60000 bytes), file holds 7"},
		{"trailing bytes", images, append(imagesFile(2), 1, 2),
			"trailing data: header says 2 images of 2x3 (12 bytes), file holds 2 bytes more"},
		{"labels file read as images", images, labelsFile(3),
			"bad magic number 0x00000801: 1 dimensions; want 0x00000803 (IDX images)"},
		{"images file read as labels", labels, imagesFile(3),
			"bad magic number 0x00000803: 3 dimensions; want 0x00000801 (IDX labels)"},
		{"wrong element type", images, idx(0x00000d03, []uint32{1, 1, 1}, seq(4)),
			"bad magic number 0x00000d03: element type 0x0d, want 0x08 (unsigned byte); want 0x00000803 (IDX images)"},
		{"not IDX at all", images, []byte("hello, world"),
			"bad magic number 0x68656c6c: not an IDX file (nor gzip-compressed); want 0x00000803 (IDX images)"},
		{"zero dimensions", anyIDX, idx(0x00000800, nil, nil), "bad magic number 0x00000800: zero dimensions"},
		{"zero rows", images, idx(MagicImages, []uint32{3, 0, 2}, nil), "dimension 1 of 3x0x2 is zero"},
		{"oversized dims", images, idx(MagicImages, []uint32{0xffffffff, 28, 28}, nil),
			"header dimensions 4294967295x28x28 exceed the 2147483647-byte limit"},
		{"oversized product", images, idx(MagicImages, []uint32{65536, 256, 128}, nil),
			"header dimensions 65536x256x128 exceed the 2147483647-byte limit"},
		{"label out of range", labels, idx(MagicLabels, []uint32{4}, []byte{0, 9, 10, 3}),
			"label 10 at index 2 is out of range: want 0..9"},
		{"label 255", labels, idx(MagicLabels, []uint32{1}, []byte{255}),
			"label 255 at index 0 is out of range: want 0..9"},
		{"gzip magic, corrupt header", images, []byte{0x1f, 0x8b, 0, 0}, "corrupt gzip data: unexpected EOF"},
		{"gzip stream cut short", images, goodGz[:len(goodGz)/2], "truncated: header says 3 images of 2x3 (18 bytes), file holds *"},
		{"gzip trailer missing", images, goodGz[:len(goodGz)-8], "truncated gzip data after the payload"},
		{"gzip checksum", labels, badCRC, "corrupt gzip data (after the payload): gzip: invalid checksum"},
		{"garbage after gzip member", images, append(goodGz, []byte("not another gzip member")...),
			"corrupt gzip data (after the payload): gzip: invalid header"},
		{"trailing data inside gzip", images, gz(t, append(imagesFile(1), 0)),
			"trailing data: header says 1 images of 2x3 (6 bytes), file holds 1 bytes more"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.read(c.data)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrFormat)
			if prefix, ok := strings.CutSuffix(c.errMsg, "*"); ok {
				assert.True(t, strings.HasPrefix(err.Error(), prefix), "error %q, want prefix %q", err, prefix)
			} else {
				assert.Equal(t, c.errMsg, err.Error())
			}
		})
	}
}

func images(b []byte) error { _, err := ReadImages(bytes.NewReader(b)); return err }
func labels(b []byte) error { _, err := ReadLabels(bytes.NewReader(b)); return err }
func anyIDX(b []byte) error { _, err := ReadIDX(bytes.NewReader(b)); return err }

// A header that promises nearly MaxPayload bytes in a tiny file must not
// make the reader allocate that much before finding the file short.
func TestHugeHeaderShortFileAllocatesLittle(t *testing.T) {
	data := idx(MagicImages, []uint32{2739, 28, 28000}, seq(100)) // 2,147,376,000 bytes promised
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := images(data)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "truncated: header says 2739 images of 28x28000 (2147376000 bytes), file holds 100")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated")
}

// A payload longer than the first read chunk is read whole.
func TestReadLargePayload(t *testing.T) {
	n := readChunk/6 + 1000 // images of 2x3: more than one chunk of payload
	x, err := ReadImages(bytes.NewReader(imagesFile(n)))
	require.NoError(t, err)
	assert.Equal(t, seq(n*6), x.Data)

	_, err = ReadImages(bytes.NewReader(imagesFile(n)[:16+readChunk+5]))
	require.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "file holds 16777221")
}

func FuzzReadIDX(f *testing.F) {
	f.Add(imagesFile(2))
	f.Add(labelsFile(3))
	f.Add(gz(f, imagesFile(2)))
	f.Add(gz(f, labelsFile(3)))
	f.Add(idx(MagicImages, []uint32{3, 2, 2}, seq(5)))
	f.Add(append(imagesFile(1), 9))
	f.Add(idx(MagicImages, []uint32{0xffffffff, 28, 28}, nil))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if x, err := ReadIDX(bytes.NewReader(data)); err == nil {
			total := 1
			for _, d := range x.Dims {
				if d <= 0 {
					t.Fatalf("accepted dimension %d", d)
				}
				total *= d
			}
			if total != len(x.Data) {
				t.Fatalf("dims %v but %d bytes", x.Dims, len(x.Data))
			}
		}
		if x, err := ReadImages(bytes.NewReader(data)); err == nil && len(x.Dims) != 3 {
			t.Fatalf("images with dims %v", x.Dims)
		}
		if l, err := ReadLabels(bytes.NewReader(data)); err == nil {
			for _, v := range l {
				if v >= Classes {
					t.Fatalf("accepted label %d", v)
				}
			}
		}
	})
}

func removeFile(dir, name string) error { return os.Remove(filepath.Join(dir, name)) }
