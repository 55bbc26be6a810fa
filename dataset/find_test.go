package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// isolate keeps Find away from the real environment: no $SIMDMLP_DATA, an
// empty working directory, and an empty stand-in for /usr/share/datasets.
// It returns the working directory and the system directory.
func isolate(t *testing.T) (cwd, system string) {
	t.Helper()
	t.Setenv(EnvData, "")
	cwd = t.TempDir()
	t.Chdir(cwd)
	system = t.TempDir()
	old := systemDataDir
	systemDataDir = system
	t.Cleanup(func() { systemDataDir = old })
	return cwd, system
}

func TestFindOrder(t *testing.T) {
	cwd, system := isolate(t)
	cache := t.TempDir()
	opts := FindOptions{CacheDir: cache}

	// Nothing anywhere.
	_, err := Find(opts)
	require.ErrorIs(t, err, ErrNotFound)

	// Each location found on its own, and preferred to the ones after it.
	writeSet(t, filepath.Join(cache, "fashion-mnist"))
	dir, err := Find(opts)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "fashion-mnist"), dir)

	writeSet(t, filepath.Join(system, "fashion-mnist"))
	dir, err = Find(opts)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(system, "fashion-mnist"), dir)

	writeSet(t, filepath.Join(cwd, "data", "fashion-mnist"))
	dir, err = Find(opts)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cwd, "data", "fashion-mnist"), dir)

	env := t.TempDir()
	writeSet(t, env)
	t.Setenv(EnvData, env)
	dir, err = Find(opts)
	require.NoError(t, err)
	assert.Equal(t, env, dir)

	explicit := t.TempDir()
	writeSet(t, filepath.Join(explicit, "fashion-mnist")) // <dir>/<name> works too
	opts.Dir = explicit
	dir, err = Find(opts)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(explicit, "fashion-mnist"), dir)
}

func TestFindNameSelectsSubdirectory(t *testing.T) {
	cwd, _ := isolate(t)
	writeSet(t, filepath.Join(cwd, "data", "mnist"))
	dir, err := Find(FindOptions{Name: "mnist", CacheDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cwd, "data", "mnist"), dir)

	_, err = Find(FindOptions{CacheDir: t.TempDir()}) // fashion-mnist is not there
	require.ErrorIs(t, err, ErrNotFound)
}

// An explicit directory that lacks the data is an error, not a reason to
// look elsewhere.
func TestFindExplicitIsStrict(t *testing.T) {
	cwd, _ := isolate(t)
	writeSet(t, filepath.Join(cwd, "data", "fashion-mnist"))
	bad := t.TempDir()
	writeFile(t, bad, TrainImages+".gz", nil)

	_, err := Find(FindOptions{Dir: bad})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, fmt.Sprintf("dataset: the -data directory %s holds no fashion-mnist data set: not found: "+
		"train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (raw or .gz), neither there nor in %s",
		bad, filepath.Join(bad, "fashion-mnist")), err.Error())

	t.Setenv(EnvData, bad)
	_, err = Find(FindOptions{})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "dataset: $SIMDMLP_DATA "+bad+" holds no fashion-mnist data set")
}

func TestFindUnknownName(t *testing.T) {
	isolate(t)
	_, err := Find(FindOptions{Name: "cifar"})
	require.Error(t, err)
	assert.Equal(t, `dataset: unknown data set "cifar" (known: fashion-mnist, mnist)`, err.Error())
}

func TestFindNotFoundNoDownload(t *testing.T) {
	isolate(t)
	cache := t.TempDir()
	_, err := Find(FindOptions{CacheDir: cache})
	require.ErrorIs(t, err, ErrNotFound)
	msg := err.Error()
	assert.Contains(t, msg, "dataset: fashion-mnist not found (looked in ./data/fashion-mnist, ")
	assert.Contains(t, msg, filepath.Join(cache, "fashion-mnist"))
	assert.Contains(t, msg, "downloading is off")
	assert.Contains(t, msg, `install it with "apt-get install dataset-fashion-mnist"`)
	assert.Contains(t, msg, "set -data or $SIMDMLP_DATA to a directory holding train-images-idx3-ubyte, ")

	// No Debian package for MNIST: no apt-get advice.
	_, err = Find(FindOptions{Name: "mnist", CacheDir: cache})
	require.ErrorIs(t, err, ErrNotFound)
	assert.NotContains(t, err.Error(), "apt-get")
	assert.Contains(t, err.Error(), "set -data or $SIMDMLP_DATA")
}

// server serves files by name and counts the requests.
type server struct {
	*httptest.Server
	files    map[string][]byte
	requests atomic.Int32
}

func newServer(t *testing.T, files map[string][]byte) *server {
	s := &server{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		b, ok := s.files[r.URL.Path[1:]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// synthetic registers a test data set whose checksums are those of the
// files writeSet writes, and returns the files (gzip-compressed, with .gz
// names, as upstream serves them).
func synthetic(t *testing.T) map[string][]byte {
	raw := map[string][]byte{
		TrainImages: imagesFile(5), TrainLabels: labelsFile(5),
		TestImages: imagesFile(3), TestLabels: labelsFile(3),
	}
	src := &source{baseURL: "http://invalid.example/", sha256: map[string]string{}}
	files := map[string][]byte{}
	for name, b := range raw {
		sum := sha256.Sum256(b)
		src.sha256[name] = hex.EncodeToString(sum[:])
		files[name+".gz"] = gz(t, b)
	}
	sources["synthetic"] = src
	t.Cleanup(func() { delete(sources, "synthetic") })
	return files
}

func TestFindDownload(t *testing.T) {
	isolate(t)
	files := synthetic(t)
	files[TestLabels+".gz"] = labelsFile(3) // a server may send a file uncompressed
	srv := newServer(t, files)
	cache := t.TempDir()
	var logs []string
	opts := FindOptions{
		Name: "synthetic", Download: true, CacheDir: cache,
		BaseURL: srv.URL, Client: srv.Client(),
		Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) },
	}

	dir, err := Find(opts)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "synthetic"), dir)
	assert.EqualValues(t, 4, srv.requests.Load())
	assert.Len(t, logs, 4)
	assert.Contains(t, logs[0], "downloading "+srv.URL+"/train-images-idx3-ubyte.gz into "+dir)

	names := dirNames(t, dir)
	assert.ElementsMatch(t, []string{TrainImages + ".gz", TrainLabels + ".gz", TestImages + ".gz", TestLabels}, names)
	train, test, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, 5, train.N)
	assert.Equal(t, 3, test.N)

	// Found in the cache the second time: no more requests.
	dir2, err := Find(opts)
	require.NoError(t, err)
	assert.Equal(t, dir, dir2)
	assert.EqualValues(t, 4, srv.requests.Load())
}

// Files already in the cache are not fetched again.
func TestFindDownloadResumes(t *testing.T) {
	isolate(t)
	files := synthetic(t)
	srv := newServer(t, files)
	cache := t.TempDir()
	writeFile(t, filepath.Join(cache, "synthetic"), TrainImages+".gz", files[TrainImages+".gz"])
	_, err := Find(FindOptions{Name: "synthetic", Download: true, CacheDir: cache, BaseURL: srv.URL + "/", Client: srv.Client()})
	require.NoError(t, err)
	assert.EqualValues(t, 3, srv.requests.Load())
}

func TestFindDownloadChecksumMismatch(t *testing.T) {
	isolate(t)
	files := synthetic(t)
	files[TestImages+".gz"] = gz(t, imagesFile(4)) // valid IDX, wrong contents
	srv := newServer(t, files)
	cache := t.TempDir()

	_, err := Find(FindOptions{Name: "synthetic", Download: true, CacheDir: cache, BaseURL: srv.URL, Client: srv.Client()})
	require.ErrorIs(t, err, ErrChecksum)
	require.ErrorIs(t, err, ErrNotFound)
	sum := sha256.Sum256(imagesFile(4))
	assert.Contains(t, err.Error(), "download from "+srv.URL+" failed: dataset: "+srv.URL+"/t10k-images-idx3-ubyte.gz: checksum mismatch: SHA-256 of the decompressed data is "+hex.EncodeToString(sum[:])+", want ")

	// The two files before it were kept; the bad one left nothing behind.
	assert.ElementsMatch(t, []string{TrainImages + ".gz", TrainLabels + ".gz"}, dirNames(t, filepath.Join(cache, "synthetic")))
}

func TestFindDownloadCorrupt(t *testing.T) {
	isolate(t)
	files := synthetic(t)
	b := files[TrainImages+".gz"]
	files[TrainImages+".gz"] = b[:len(b)/2]
	srv := newServer(t, files)
	cache := t.TempDir()
	_, err := Find(FindOptions{Name: "synthetic", Download: true, CacheDir: cache, BaseURL: srv.URL, Client: srv.Client()})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), srv.URL+"/train-images-idx3-ubyte.gz: decompressing")
	assert.Empty(t, dirNames(t, filepath.Join(cache, "synthetic")))
}

func TestFindDownloadHTTPFailure(t *testing.T) {
	isolate(t)
	srv := newServer(t, map[string][]byte{}) // 404 for everything
	cache := t.TempDir()
	_, err := Find(FindOptions{Download: true, CacheDir: cache, BaseURL: srv.URL, Client: srv.Client()})
	require.ErrorIs(t, err, ErrNotFound)
	msg := err.Error()
	assert.Contains(t, msg, "dataset: fashion-mnist not found (looked in ")
	assert.Contains(t, msg, "download from "+srv.URL+" failed: GET "+srv.URL+"/train-images-idx3-ubyte.gz: 404 Not Found")
	assert.Contains(t, msg, `install it with "apt-get install dataset-fashion-mnist", or set -data or $SIMDMLP_DATA`)
	assert.Empty(t, dirNames(t, filepath.Join(cache, "fashion-mnist")))

	// A server that cannot be reached at all.
	srv.Close()
	_, err = Find(FindOptions{Download: true, CacheDir: cache, BaseURL: srv.URL, Client: srv.Client()})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "download from "+srv.URL+" failed: Get \""+srv.URL+"/train-images-idx3-ubyte.gz\": ")
	assert.Contains(t, err.Error(), "apt-get install dataset-fashion-mnist")
}

func TestFindDownloadNoCacheDir(t *testing.T) {
	isolate(t)
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	if _, err := os.UserCacheDir(); err == nil {
		t.Skip("os.UserCacheDir works without HOME on this platform")
	}
	_, err := Find(FindOptions{Download: true})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "cannot download: no cache directory")
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
