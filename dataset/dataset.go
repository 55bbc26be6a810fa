// Package dataset loads MNIST-format image classification data sets
// (Fashion-MNIST, MNIST) stored as IDX files, and finds them on disk or
// downloads them.
//
// A data set directory holds four files, each either gzip-compressed (with
// a ".gz" suffix, as distributed) or raw:
//
//	train-images-idx3-ubyte  train-labels-idx1-ubyte
//	t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte
//
// Compression is detected from the first bytes of a file, never from its
// name. Every file is validated strictly (magic number, dimensions, exact
// payload length, label range) and errors name the file and the problem.
//
// Typical use:
//
//	dir, err := dataset.Find(dataset.FindOptions{Dir: *dataFlag})
//	if err != nil {
//		log.Fatal(err)
//	}
//	train, test, err := dataset.Load(dir)
package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Classes is the number of classes of the MNIST-family data sets: every
// label is in 0..Classes-1.
const Classes = 10

// The base names of the four files of a data set. Each may be stored with
// a ".gz" suffix.
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// Files lists the base names of the four files of a data set.
var Files = [4]string{TrainImages, TrainLabels, TestImages, TestLabels}

// ErrNotFound is matched (with errors.Is) by the errors that report a
// missing file or a data set that could not be found.
var ErrNotFound = errors.New("not found")

// Set is one split (training or test) of a data set: N grey images of
// Rows x Cols pixels with their labels.
type Set struct {
	// Images holds N*Rows*Cols pixel values, 0 (background) to 255, one
	// image after another, each in row-major order.
	Images []uint8
	// Labels holds N class labels, each in 0..Classes-1.
	Labels []uint8
	// N is the number of images; Rows and Cols the size of each.
	N, Rows, Cols int
}

// Features returns the number of pixels of one image, Rows*Cols: the input
// size of a classifier.
func (s *Set) Features() int { return s.Rows * s.Cols }

// Image returns the pixels of image i (0 <= i < N), Features() bytes in
// row-major order. The slice aliases s.Images.
func (s *Set) Image(i int) []uint8 {
	f := s.Features()
	return s.Images[i*f : (i+1)*f : (i+1)*f]
}

// LoadFiles reads one split from an image file and a label file, each
// gzip-compressed or raw, and checks that they hold the same number of
// items. Errors are *FileError values naming the file.
func LoadFiles(imagesPath, labelsPath string) (*Set, error) {
	img, err := readFile(imagesPath, ReadImages)
	if err != nil {
		return nil, err
	}
	labels, err := readFile(labelsPath, ReadLabels)
	if err != nil {
		return nil, err
	}
	if len(labels) != img.Dims[0] {
		return nil, &FileError{
			Path: imagesPath + " and " + labelsPath,
			Err:  formatErrorf("count mismatch: %d images but %d labels", img.Dims[0], len(labels)),
		}
	}
	return &Set{Images: img.Data, Labels: labels, N: img.Dims[0], Rows: img.Dims[1], Cols: img.Dims[2]}, nil
}

// Load reads the training and test splits of the data set in dir, from
// the four standard files (see Files), each named either with a ".gz"
// suffix or without; when both exist the raw file is used. It checks that
// both splits have images of the same size.
func Load(dir string) (train, test *Set, err error) {
	var paths [4]string
	for i, name := range Files {
		p, ok := locate(dir, name)
		if !ok {
			return nil, nil, &FileError{
				Path: filepath.Join(dir, name),
				Err:  fmt.Errorf("%w (nor %s.gz)", ErrNotFound, name),
			}
		}
		paths[i] = p
	}
	if train, err = LoadFiles(paths[0], paths[1]); err != nil {
		return nil, nil, err
	}
	if test, err = LoadFiles(paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	if train.Rows != test.Rows || train.Cols != test.Cols {
		return nil, nil, &FileError{
			Path: paths[0] + " and " + paths[2],
			Err:  formatErrorf("image size mismatch: training images are %dx%d, test images %dx%d", train.Rows, train.Cols, test.Rows, test.Cols),
		}
	}
	return train, test, nil
}

// locate returns the path of the file with base name name in dir: the raw
// file if it exists, else the ".gz" one.
func locate(dir, name string) (string, bool) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}
