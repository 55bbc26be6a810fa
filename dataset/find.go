package dataset

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// EnvData is the environment variable that names a data directory. It is
// consulted by Find when FindOptions.Dir is empty.
const EnvData = "SIMDMLP_DATA"

// DefaultName is the data set Find looks for when FindOptions.Name is empty.
const DefaultName = "fashion-mnist"

// ErrChecksum is matched (with errors.Is) by the error that reports a
// downloaded file whose decompressed contents have the wrong SHA-256.
var ErrChecksum = errors.New("checksum mismatch")

// maxDownload bounds the size of one downloaded file (the largest real one,
// Fashion-MNIST's compressed training images, is about 26 MB).
const maxDownload = 256 << 20

// systemDataDir is where Debian's dataset-* packages install data sets. It
// is a variable so that tests can point it elsewhere.
var systemDataDir = "/usr/share/datasets"

// source describes where a known data set comes from.
type source struct {
	// baseURL is the upstream location; the file names, with ".gz",
	// are appended to it.
	baseURL string
	// aptPackage is the Debian package that installs the data set into
	// systemDataDir/<name>, or "" if there is none.
	aptPackage string
	// sha256 maps each base name in Files to the SHA-256 (hex) of the
	// decompressed file. Checksums of the decompressed contents are used
	// because distributors recompress the files (Debian's .gz files differ
	// from upstream's, their contents do not).
	sha256 map[string]string
}

// sources are the data sets Find knows by name.
var sources = map[string]*source{
	"fashion-mnist": {
		baseURL:    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
		aptPackage: "dataset-fashion-mnist",
		sha256: map[string]string{
			TrainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", // 47,040,016 bytes
			TrainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", // 60,008 bytes
			TestImages:  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", // 7,840,016 bytes
			TestLabels:  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", // 10,008 bytes
		},
	},
	"mnist": {
		baseURL: "https://ossci-datasets.s3.amazonaws.com/mnist/",
		sha256: map[string]string{
			TrainImages: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", // 47,040,016 bytes
			TrainLabels: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", // 60,008 bytes
			TestImages:  "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", // 7,840,016 bytes
			TestLabels:  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", // 10,008 bytes
		},
	},
}

// Names returns the names of the data sets Find knows, sorted.
func Names() []string {
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FindOptions configures Find.
type FindOptions struct {
	// Name is the data set: "fashion-mnist" (the default when empty) or
	// "mnist".
	Name string

	// Dir is a directory given explicitly, e.g. by a -data flag. When
	// set, the data set must be in Dir itself or in Dir/<Name>, and no
	// other place is searched.
	Dir string

	// Download allows Find, when the data set is nowhere on disk, to
	// download it from upstream into the cache directory.
	Download bool

	// CacheDir replaces the cache root, by default
	// os.UserCacheDir()/simdmlp. The data set is cached in
	// CacheDir/<Name>.
	CacheDir string

	// BaseURL replaces the upstream base URL of the data set; the file
	// names, with ".gz", are appended to it.
	BaseURL string

	// Client is the HTTP client used to download; nil means a client
	// with a 10-minute timeout.
	Client *http.Client

	// Logf, if not nil, receives progress messages about downloads.
	Logf func(format string, args ...any)
}

// Find returns the directory that holds the four files of a data set (see
// Files, each raw or gzip-compressed). It looks, in order:
//
//  1. in opts.Dir, if set (or opts.Dir/<name>), and nowhere else;
//  2. else in $SIMDMLP_DATA, if set (or $SIMDMLP_DATA/<name>), and nowhere else;
//  3. in ./data/<name>;
//  4. in /usr/share/datasets/<name>, where Debian's dataset-fashion-mnist
//     package installs Fashion-MNIST;
//  5. in the cache directory, os.UserCacheDir()/simdmlp/<name>.
//
// Failing those, if opts.Download is true, it downloads the files from
// upstream into the cache directory, checks the SHA-256 of their
// decompressed contents against known values, and stores each one
// atomically (temporary file and rename), so that an interrupted download
// never leaves a partial file under its final name.
//
// Find only checks that the files exist; Load validates their contents.
// Its errors match ErrNotFound when the data set could not be found or
// fetched, and also wrap the download error (which may match ErrChecksum).
func Find(opts FindOptions) (dir string, err error) {
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	src, ok := sources[name]
	if !ok {
		return "", fmt.Errorf("dataset: unknown data set %q (known: %s)", name, strings.Join(Names(), ", "))
	}

	if opts.Dir != "" {
		return findExplicit(opts.Dir, name, "the -data directory")
	}
	if env := os.Getenv(EnvData); env != "" {
		return findExplicit(env, name, "$"+EnvData)
	}

	candidates := []string{filepath.Join("data", name), filepath.Join(systemDataDir, name)}
	cache, cacheErr := cacheDir(opts.CacheDir, name)
	if cacheErr == nil {
		candidates = append(candidates, cache)
	}
	looked := []string{"." + string(filepath.Separator) + candidates[0]}
	looked = append(looked, candidates[1:]...)
	for _, c := range candidates {
		if len(missing(c)) == 0 {
			return absolute(c), nil
		}
	}

	var why error
	switch {
	case !opts.Download:
		why = errors.New("downloading is off")
	case cacheErr != nil:
		why = fmt.Errorf("cannot download: no cache directory: %w", cacheErr)
	default:
		base := opts.BaseURL
		if base == "" {
			base = src.baseURL
		}
		if why = download(opts, src, base, cache); why == nil {
			return cache, nil
		}
		_ = os.Remove(cache) // only if empty: do not leave an empty directory behind
		why = fmt.Errorf("download from %s failed: %w", base, why)
	}

	remedy := ""
	if src.aptPackage != "" {
		remedy = fmt.Sprintf("install it with \"apt-get install %s\", or ", src.aptPackage)
	}
	return "", fmt.Errorf("dataset: %s %w (looked in %s); %w. To fix: %sset -data or $%s to a directory holding %s (each raw or .gz)",
		name, ErrNotFound, strings.Join(looked, ", "), why, remedy, EnvData, strings.Join(Files[:], ", "))
}

// findExplicit looks for the data set in dir or dir/<name> only.
func findExplicit(dir, name, what string) (string, error) {
	miss := missing(dir)
	if len(miss) == 0 {
		return absolute(dir), nil
	}
	sub := filepath.Join(dir, name)
	if len(missing(sub)) == 0 {
		return absolute(sub), nil
	}
	return "", fmt.Errorf("dataset: %s %s holds no %s data set: %w: %s (raw or .gz), neither there nor in %s",
		what, dir, name, ErrNotFound, strings.Join(miss, ", "), sub)
}

// missing returns the base names of the files of a data set that are in
// dir neither raw nor gzip-compressed.
func missing(dir string) []string {
	var m []string
	for _, f := range Files {
		if _, ok := locate(dir, f); !ok {
			m = append(m, f)
		}
	}
	return m
}

// cacheDir returns root/<name>, root defaulting to
// os.UserCacheDir()/simdmlp.
func cacheDir(root, name string) (string, error) {
	if root == "" {
		ucd, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		root = filepath.Join(ucd, "simdmlp")
	}
	return filepath.Join(root, name), nil
}

func absolute(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

// download fetches the files of src missing from dir.
func download(opts FindOptions, src *source, base, dir string) error {
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range missing(dir) {
		url := base + f + ".gz"
		if opts.Logf != nil {
			opts.Logf("dataset: downloading %s into %s", url, dir)
		}
		if err := fetch(client, url, dir, f, src.sha256[f]); err != nil {
			return err
		}
	}
	return nil
}

// fetch downloads url into dir as name.gz (or name, if the server sent
// it uncompressed) after checking that the SHA-256 of the decompressed
// contents is want.
func fetch(client *http.Client, url, dir, name, want string) (err error) {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}

	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if n > maxDownload {
		return fmt.Errorf("GET %s: response larger than %d bytes", url, maxDownload)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}

	r, err := decompress(tmp)
	if err != nil {
		return &FileError{Path: url, Err: err}
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return &FileError{Path: url, Err: readError(err, "decompressing")}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &FileError{Path: url, Err: fmt.Errorf("%w: SHA-256 of the decompressed data is %s, want %s", ErrChecksum, got, want)}
	}

	final := name
	if _, gz := r.(*gzip.Reader); gz {
		final += ".gz"
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, final))
}
