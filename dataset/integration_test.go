package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debianFashion is where Debian's dataset-fashion-mnist package installs
// Fashion-MNIST.
const debianFashion = "/usr/share/datasets/fashion-mnist"

// fashionSHA256 are the SHA-256 sums of the decompressed Fashion-MNIST
// files, from the study summary (shared/paper/SUMMARY.md); kept apart from
// the table in find.go so that a typo there is caught.
var fashionSHA256 = map[string]string{
	TrainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
	TrainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
	TestImages:  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
	TestLabels:  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

func TestChecksumTable(t *testing.T) {
	assert.Equal(t, fashionSHA256, sources["fashion-mnist"].sha256)
	for name, src := range sources {
		for _, f := range Files {
			assert.Len(t, src.sha256[f], 64, "%s %s", name, f)
		}
	}
}

// requireRealData skips the test when the Debian data is absent, except
// under CI (env CI set), where its absence is a failure.
func requireRealData(t *testing.T) {
	t.Helper()
	if len(missing(debianFashion)) == 0 {
		return
	}
	msg := "Fashion-MNIST not installed in " + debianFashion + " (apt-get install dataset-fashion-mnist)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func TestRealFashionMNIST(t *testing.T) {
	requireRealData(t)

	for _, f := range Files {
		p, ok := locate(debianFashion, f)
		require.True(t, ok, f)
		file, err := os.Open(p)
		require.NoError(t, err)
		r, err := decompress(file)
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.Copy(h, r)
		file.Close()
		require.NoError(t, err, p)
		assert.Equal(t, fashionSHA256[f], hex.EncodeToString(h.Sum(nil)), "SHA-256 of decompressed %s", p)
	}

	train, test, err := Load(debianFashion)
	require.NoError(t, err)
	assert.Equal(t, 60000, train.N)
	assert.Equal(t, 10000, test.N)
	for _, s := range []*Set{train, test} {
		assert.Equal(t, 28, s.Rows)
		assert.Equal(t, 28, s.Cols)
		assert.Equal(t, 784, s.Features())
		assert.Len(t, s.Images, s.N*784)
		assert.Len(t, s.Labels, s.N)
		// Fashion-MNIST is balanced: N/10 images of every class.
		var count [Classes]int
		for _, l := range s.Labels {
			count[l]++
		}
		for c, n := range count {
			assert.Equal(t, s.N/Classes, n, "class %d", c)
		}
	}
	// The first training image is an ankle boot (class 9).
	assert.Equal(t, uint8(9), train.Labels[0])
}

// With no other data around, Find's default search reaches the Debian
// directory.
func TestFindDebianFashionMNIST(t *testing.T) {
	requireRealData(t)
	t.Setenv(EnvData, "")
	t.Chdir(t.TempDir())
	dir, err := Find(FindOptions{CacheDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, filepath.Clean(debianFashion), dir)
}
