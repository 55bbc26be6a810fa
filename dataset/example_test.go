package dataset_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/simdmlp/simdmlp/dataset"
)

// writeIDX writes an IDX file of unsigned bytes.
func writeIDX(path string, magic uint32, dims []uint32, data []byte) error {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	binary.Write(&b, binary.BigEndian, dims)
	b.Write(data)
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Load reads the four files of a data set directory. Here they are a tiny
// synthetic data set: four training and two test images of 2x2 pixels.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "dataset-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	files := []struct {
		name  string
		magic uint32
		dims  []uint32
		data  []byte
	}{
		{dataset.TrainImages, dataset.MagicImages, []uint32{4, 2, 2}, make([]byte, 16)},
		{dataset.TrainLabels, dataset.MagicLabels, []uint32{4}, []byte{3, 1, 4, 1}},
		{dataset.TestImages, dataset.MagicImages, []uint32{2, 2, 2}, make([]byte, 8)},
		{dataset.TestLabels, dataset.MagicLabels, []uint32{2}, []byte{5, 9}},
	}
	for _, f := range files {
		if err := writeIDX(filepath.Join(dir, f.name), f.magic, f.dims, f.data); err != nil {
			log.Fatal(err)
		}
	}

	train, test, err := dataset.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("train: %d images of %dx%d (%d features), labels %v\n", train.N, train.Rows, train.Cols, train.Features(), train.Labels)
	fmt.Printf("test: %d images, labels %v\n", test.N, test.Labels)
	// Output:
	// train: 4 images of 2x2 (4 features), labels [3 1 4 1]
	// test: 2 images, labels [5 9]
}

// Find locates Fashion-MNIST (here without downloading); a trainer passes
// its -data flag as Dir.
func ExampleFind() {
	dir, err := dataset.Find(dataset.FindOptions{Name: "fashion-mnist"})
	if err != nil {
		fmt.Println(err) // names the places searched and the remedies
		return
	}
	train, test, err := dataset.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.N, test.N, train.Features())
}
