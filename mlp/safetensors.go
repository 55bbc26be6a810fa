package mlp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/simdmlp/simdmlp/internal/atomicfile"
)

// MaxFileSize bounds what Load reads: larger files are rejected unread.
const MaxFileSize = 1 << 30

// maxHeader bounds the JSON header of a safetensors file.
const maxHeader = 100 << 20

// tensorName returns the PyTorch nn.Sequential name of layer l's parameter:
// Linear, ReLU[, Dropout] per hidden layer, so "0.weight", "3.weight", …
func (n *Network) tensorName(param int) string {
	stride := 2
	if n.cfg.Dropout > 0 {
		stride = 3
	}
	kind := "weight"
	if param%2 == 1 {
		kind = "bias"
	}
	return fmt.Sprintf("%d.%s", param/2*stride, kind)
}

// shape returns the PyTorch shape of parameter param.
func (n *Network) shape(param int) []int {
	L := n.layers[param/2]
	if param%2 == 1 {
		return []int{L.out}
	}
	return []int{L.out, L.in}
}

// toTorch converts tensor data of parameter param (weights packed, biases
// plain) to PyTorch's layout.
func (n *Network) toTorch(param int, data []float32) []float32 {
	if param%2 == 1 {
		return data
	}
	L := n.layers[param/2]
	out := make([]float32, L.in*L.out)
	p := kernelsPacked(L.in, L.out, data)
	p.Unpack(transOp, out, L.in)
	return out
}

// fromTorch writes PyTorch-layout data into the network's tensor dst.
func (n *Network) fromTorch(param int, src, dst []float32) {
	if param%2 == 1 {
		copy(dst, src)
		return
	}
	L := n.layers[param/2]
	p := kernelsPacked(L.in, L.out, dst)
	p.Pack(transOp, src, L.in)
}

type tensorHeader struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Save writes the weights (PyTorch nn.Sequential state_dict names and
// shapes), the optimizer state ("optimizer.<param>.<state>") and meta as a
// safetensors file, atomically: a reader sees the old file or the new one.
func (n *Network) Save(path string, meta map[string]string) error {
	type entry struct {
		name  string
		shape []int
		data  []float32
	}
	var entries []entry
	for p, d := range n.params {
		entries = append(entries, entry{n.tensorName(p), n.shape(p), n.toTorch(p, d)})
	}
	allMeta := map[string]string{"format": "pt", "simdmlp.sizes": joinInts(n.cfg.Sizes), "simdmlp.step": strconv.Itoa(n.step),
		"simdmlp.seed": strconv.FormatUint(n.cfg.Seed, 10)}
	if n.opt != nil {
		allMeta["simdmlp.optimizer"] = n.opt.Name()
		for _, s := range n.opt.State() {
			entries = append(entries, entry{"optimizer." + n.tensorName(s.Param) + "." + s.Name, n.shape(s.Param), n.toTorch(s.Param, s.Data)})
		}
	}
	for k, v := range meta {
		allMeta[k] = v
	}
	header := map[string]any{"__metadata__": allMeta}
	var off int64
	for _, e := range entries {
		size := int64(4 * len(e.data))
		header[e.name] = tensorHeader{"F32", e.shape, [2]int64{off, off + size}}
		off += size
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hj)))
	buf.Write(hj)
	for _, e := range entries {
		binary.Write(&buf, binary.LittleEndian, e.data)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("mlp: writing %s: %w", path, err)
	}
	return nil
}

// Load reads a file written by Save (or by safetensors.torch.save_file from
// a PyTorch model of the same shape) into the network: weights, the
// optimizer state when the file has it for the attached optimizer, and the
// step count and seed (which keys the dropout masks). It returns the file's metadata. A malformed, truncated or
// oversized file is rejected with an error and changes nothing.
func (n *Network) Load(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("mlp: %s: %d bytes is over the %d-byte limit", path, st.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	tensors, meta, err := parseSafetensors(data)
	if err != nil {
		return nil, fmt.Errorf("mlp: %s: %w", path, err)
	}
	if err := n.apply(tensors, meta); err != nil {
		return nil, fmt.Errorf("mlp: %s: %w", path, err)
	}
	return meta, nil
}

// apply validates every tensor the network needs before changing any.
func (n *Network) apply(tensors map[string][]float32, meta map[string]string) error {
	need := func(name string, shape []int) ([]float32, error) {
		t, ok := tensors[name]
		if !ok {
			return nil, fmt.Errorf("tensor %q missing", name)
		}
		if len(t) != prod(shape) {
			return nil, fmt.Errorf("tensor %q has %d values, want shape %v", name, len(t), shape)
		}
		return t, nil
	}
	var sets []func()
	for p := range n.params {
		t, err := need(n.tensorName(p), n.shape(p))
		if err != nil {
			return err
		}
		sets = append(sets, func() { n.fromTorch(p, t, n.params[p]) })
	}
	step := n.step
	if s, ok := meta["simdmlp.step"]; ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return fmt.Errorf("bad simdmlp.step %q", s)
		}
		step = v
	}
	seed := n.cfg.Seed
	if s, ok := meta["simdmlp.seed"]; ok {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("bad simdmlp.seed %q", s)
		}
		seed = v
	}
	if n.opt != nil && meta["simdmlp.optimizer"] == n.opt.Name() {
		for _, s := range n.opt.State() {
			t, err := need("optimizer."+n.tensorName(s.Param)+"."+s.Name, n.shape(s.Param))
			if err != nil {
				return err
			}
			sets = append(sets, func() { n.fromTorch(s.Param, t, s.Data) })
		}
	}
	for _, set := range sets {
		set()
	}
	n.step = step
	n.cfg.Seed = seed // the dropout masks go on as they would have
	return nil
}

// parseSafetensors decodes a safetensors image holding only F32 tensors.
func parseSafetensors(data []byte) (map[string][]float32, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, errors.New("truncated: no header length")
	}
	hlen := binary.LittleEndian.Uint64(data)
	if hlen > maxHeader || hlen > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("header length %d does not fit the file (%d bytes)", hlen, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+hlen], &raw); err != nil {
		return nil, nil, fmt.Errorf("bad header: %v", err)
	}
	body := data[8+hlen:]
	meta := map[string]string{}
	type span struct {
		name       string
		start, end int64
	}
	var spans []span
	tensors := map[string][]float32{}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("bad metadata: %v", err)
			}
			continue
		}
		var h tensorHeader
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: bad header: %v", name, err)
		}
		if h.Dtype != "F32" {
			return nil, nil, fmt.Errorf("tensor %q: dtype %s, only F32 is supported", name, h.Dtype)
		}
		count := int64(1)
		for _, d := range h.Shape {
			if d < 0 || d > math.MaxInt32 || count*int64(d) > int64(len(body)) {
				return nil, nil, fmt.Errorf("tensor %q: shape %v does not fit the file", name, h.Shape)
			}
			count *= int64(d)
		}
		s, e := h.DataOffsets[0], h.DataOffsets[1]
		if s < 0 || e < s || e > int64(len(body)) {
			return nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d] outside the %d data bytes (truncated?)", name, s, e, len(body))
		}
		if e-s != 4*count {
			return nil, nil, fmt.Errorf("tensor %q: %d bytes for shape %v", name, e-s, h.Shape)
		}
		spans = append(spans, span{name, s, e})
		t := make([]float32, count)
		binary.Decode(body[s:e], binary.LittleEndian, t)
		tensors[name] = t
	}
	slices.SortFunc(spans, func(a, b span) int { return int(a.start - b.start) })
	var at int64
	for _, sp := range spans {
		if sp.start != at {
			return nil, nil, fmt.Errorf("tensor %q starts at %d, expected %d (overlap or gap)", sp.name, sp.start, at)
		}
		at = sp.end
	}
	if at != int64(len(body)) {
		return nil, nil, fmt.Errorf("data holds %d bytes, tensors cover %d", len(body), at)
	}
	return tensors, meta, nil
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
