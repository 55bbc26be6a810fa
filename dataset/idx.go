package dataset

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// IDX magic numbers of the two kinds of file in the MNIST family: the first
// two bytes are zero, the third is the element type (0x08, unsigned byte)
// and the fourth the number of dimensions.
const (
	MagicImages = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, columns
	MagicLabels = 0x00000801 // unsigned bytes, 1 dimension: count
)

// MaxPayload is the largest IDX payload, in bytes, that the readers accept.
// A header that promises more is rejected before anything is allocated.
const MaxPayload = math.MaxInt32 // 2 GiB - 1, also a valid slice length on 32-bit platforms

// typeUnsignedByte is the IDX element-type code of unsigned bytes, the only
// type used by MNIST-format data sets.
const typeUnsignedByte = 0x08

// readChunk is the largest buffer allocated before the data it is to hold
// has actually arrived, so that a header promising a large payload in a
// short (or gzip-bombed) file cannot force a large allocation up front.
const readChunk = 16 << 20

// IDX is a decoded IDX file of unsigned bytes.
type IDX struct {
	// Dims are the dimension sizes from the header, outermost first.
	Dims []int
	// Data holds the product of Dims bytes in row-major order.
	Data []uint8
}

// ErrFormat is matched (with errors.Is) by every error that reports
// malformed data: a bad header, a truncated or overlong payload, a corrupt
// gzip stream, an out-of-range label, or image and label files that do not
// agree.
var ErrFormat = errors.New("malformed IDX data")

// formatError is a problem with the contents of a file. It matches ErrFormat.
type formatError struct {
	msg string
	err error // optional underlying cause
}

func (e *formatError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *formatError) Unwrap() error        { return e.err }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

func formatErrorf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

// FileError is an error about one file (or, for a mismatch between two
// files, a pair of them). Its message starts with "dataset: " and the path.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return "dataset: " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error, so that errors.Is(err, ErrFormat),
// errors.Is(err, ErrNotFound) and the like see through a FileError.
func (e *FileError) Unwrap() error { return e.Err }

// decompress returns a reader of the contents of r, decompressed when r
// starts with the gzip magic bytes 1f 8b, as is otherwise. The file name
// plays no part.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(head) == 0 {
		return nil, formatErrorf("empty file")
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &formatError{msg: "corrupt gzip data", err: err}
		}
		return zr, nil
	}
	return br, nil
}

// ReadIDX reads an IDX file of unsigned bytes with any number of
// dimensions from r, which may be gzip-compressed (detected from its first
// bytes). It checks that every dimension is positive, that the payload is
// at most MaxPayload bytes and that the data holds exactly the number of
// bytes the header promises: no fewer, no more.
func ReadIDX(r io.Reader) (*IDX, error) {
	return readIDX(r, 0)
}

// ReadImages reads an IDX image file (magic 0x00000803: count, rows,
// columns) from r, gzip-compressed or raw.
func ReadImages(r io.Reader) (*IDX, error) {
	return readIDX(r, MagicImages)
}

// ReadLabels reads an IDX label file (magic 0x00000801: count) from r,
// gzip-compressed or raw, and checks that every label is below Classes.
func ReadLabels(r io.Reader) ([]uint8, error) {
	x, err := readIDX(r, MagicLabels)
	if err != nil {
		return nil, err
	}
	for i, l := range x.Data {
		if l >= Classes {
			return nil, formatErrorf("label %d at index %d is out of range: want 0..%d", l, i, Classes-1)
		}
	}
	return x.Data, nil
}

// readIDX reads an IDX file. want is MagicImages, MagicLabels, or 0 for
// any unsigned-byte IDX file.
func readIDX(r io.Reader, want uint32) (*IDX, error) {
	r, err := decompress(r)
	if err != nil {
		return nil, err
	}
	var head [4]byte
	if n, err := io.ReadFull(r, head[:]); err != nil {
		return nil, readError(err, fmt.Sprintf("truncated header: %d of the 4 magic bytes", n))
	}
	magic := binary.BigEndian.Uint32(head[:])
	if head[0] != 0 || head[1] != 0 {
		return nil, formatErrorf("bad magic number 0x%08x: not an IDX file (nor gzip-compressed)%s", magic, wantSuffix(want))
	}
	if head[2] != typeUnsignedByte {
		return nil, formatErrorf("bad magic number 0x%08x: element type 0x%02x, want 0x08 (unsigned byte)%s", magic, head[2], wantSuffix(want))
	}
	ndims := int(head[3])
	if ndims == 0 {
		return nil, formatErrorf("bad magic number 0x%08x: zero dimensions", magic)
	}
	if want != 0 && magic != want {
		return nil, formatErrorf("bad magic number 0x%08x: %d dimensions%s", magic, ndims, wantSuffix(want))
	}

	raw := make([]byte, 4*ndims)
	if n, err := io.ReadFull(r, raw); err != nil {
		return nil, readError(err, fmt.Sprintf("truncated header: %d of the %d dimension bytes", n, len(raw)))
	}
	dims := make([]int, ndims)
	total := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		if d == 0 {
			return nil, formatErrorf("dimension %d of %s is zero", i, joinDims(raw, ndims))
		}
		if total > MaxPayload/d {
			return nil, formatErrorf("header dimensions %s exceed the %d-byte limit", joinDims(raw, ndims), int64(MaxPayload))
		}
		total *= d
		dims[i] = int(d)
	}

	data, err := readPayload(r, total)
	if err != nil {
		return nil, readError(err, fmt.Sprintf("truncated: header says %s, file holds %d", describe(dims, total), len(data)))
	}
	// The payload must end the data. Reading past it also makes a gzip
	// reader verify its checksum.
	extra, err := io.Copy(io.Discard, io.LimitReader(r, readChunk))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, formatErrorf("truncated gzip data after the payload")
		}
		return nil, readError(err, "after the payload")
	}
	if extra > 0 {
		more := ""
		if extra == readChunk {
			more = " or more"
		}
		return nil, formatErrorf("trailing data: header says %s, file holds %d%s bytes more", describe(dims, total), extra, more)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// readPayload reads exactly n bytes from r, growing its buffer as data
// arrives rather than trusting n up front. On a short read it returns what
// it got and an error (io.ErrUnexpectedEOF if the data simply ended).
func readPayload(r io.Reader, n int64) ([]byte, error) {
	data := make([]byte, 0, min(n, readChunk))
	for int64(len(data)) < n {
		if len(data) == cap(data) {
			grow := min(n-int64(len(data)), int64(cap(data)))
			data = slices.Grow(data, int(grow))
		}
		end := min(int64(cap(data)), n)
		k, err := io.ReadFull(r, data[len(data):end])
		data = data[:len(data)+k]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return data, err
		}
	}
	return data, nil
}

// readError turns an error from reading decompressed data into a format
// error with the given message when the data ended early or the gzip
// stream is corrupt; an I/O error is returned as it is, annotated.
func readError(err error, msg string) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return formatErrorf("%s", msg)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return &formatError{msg: "corrupt gzip data (" + msg + ")", err: err}
	}
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) {
		return &formatError{msg: "corrupt gzip data (" + msg + ")", err: err}
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func wantSuffix(want uint32) string {
	switch want {
	case MagicImages:
		return "; want 0x00000803 (IDX images)"
	case MagicLabels:
		return "; want 0x00000801 (IDX labels)"
	}
	return ""
}

// joinDims formats the raw big-endian dimensions of a header as 1x2x3.
func joinDims(raw []byte, ndims int) string {
	parts := make([]string, ndims)
	for i := range parts {
		parts[i] = strconv.FormatUint(uint64(binary.BigEndian.Uint32(raw[4*i:])), 10)
	}
	return strings.Join(parts, "x")
}

// describe says what a header promises, e.g. "60000 images of 28x28
// (47040000 bytes)".
func describe(dims []int, total int64) string {
	switch len(dims) {
	case 3:
		return fmt.Sprintf("%d images of %dx%d (%d bytes)", dims[0], dims[1], dims[2], total)
	case 1:
		return fmt.Sprintf("%d labels (%d bytes)", dims[0], total)
	}
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return fmt.Sprintf("dimensions %s (%d bytes)", strings.Join(parts, "x"), total)
}

// readFile opens path and decodes it with read, wrapping any error in a
// FileError naming the path. A missing file matches ErrNotFound.
func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return zero, &FileError{Path: path, Err: ErrNotFound}
		}
		return zero, err // *fs.PathError already names the path
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, &FileError{Path: path, Err: err}
	}
	return v, nil
}
