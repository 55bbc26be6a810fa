package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// wordsFile is the table of encodings, relative to the asm module (where
// `go run ./neonelem -words` runs).
const wordsFile = "neonelem/words.txt"

// committedWords is the table the generator encodes WORD directives from:
// one "xxxxxxxx instruction" line per instruction, as written by assemble.
//
//go:embed words.txt
var committedWords string

// The GNU tools that encode the instructions Go's assembler lacks.
var (
	gnuAs      = "aarch64-linux-gnu-as"
	gnuObjdump = "aarch64-linux-gnu-objdump"
)

const wordsHeader = "# Encodings of the A64 instructions that Go's assembler lacks, produced by\n" +
	"# `go run ./neonelem -words` (in asm/) with aarch64-linux-gnu-as and read back\n" +
	"# with aarch64-linux-gnu-objdump -d. DO NOT EDIT.\n"

// parseWords reads a table written by formatWords.
func parseWords(s string) (map[string]uint32, error) {
	table := make(map[string]uint32)
	for n, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		hex, inst, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: malformed line %q", wordsFile, n+1, line)
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", wordsFile, n+1, err)
		}
		table[inst] = uint32(v)
	}
	return table, nil
}

// formatWords writes the table sorted by instruction.
func formatWords(table map[string]uint32) []byte {
	var b bytes.Buffer
	b.WriteString(wordsHeader)
	insts := make([]string, 0, len(table))
	for inst := range table {
		insts = append(insts, inst)
	}
	slices.Sort(insts)
	for _, inst := range insts {
		fmt.Fprintf(&b, "%08x %s\n", table[inst], inst)
	}
	return b.Bytes()
}

var objdumpLine = regexp.MustCompile(`^\s*[0-9a-f]+:\s+([0-9a-f]{8})\s+(\S+)\s*(.*)$`)

// assemble encodes the instructions with the GNU assembler and reads the
// words back with objdump, checking that objdump disassembles each word to
// exactly the instruction written (so the comment beside each WORD is what
// the processor executes).
func assemble(insts []string) (map[string]uint32, error) {
	dir, err := os.MkdirTemp("", "neonelem")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src, obj := filepath.Join(dir, "words.s"), filepath.Join(dir, "words.o")
	var s bytes.Buffer
	for _, inst := range insts {
		fmt.Fprintf(&s, "\t%s\n", inst)
	}
	if err := os.WriteFile(src, s.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(gnuAs, "-o", obj, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", gnuAs, err, out)
	}
	out, err := exec.Command(gnuObjdump, "-d", obj).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", gnuObjdump, err)
	}
	var words []uint32
	var texts []string
	for _, line := range strings.Split(string(out), "\n") {
		m := objdumpLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 16, 32)
		if err != nil {
			return nil, err
		}
		words = append(words, uint32(v))
		texts = append(texts, strings.TrimSpace(m[2]+" "+m[3]))
	}
	if len(words) != len(insts) {
		return nil, fmt.Errorf("%s: %d instructions assembled to %d words", gnuObjdump, len(insts), len(words))
	}
	table := make(map[string]uint32, len(insts))
	for i, inst := range insts {
		if texts[i] != inst {
			return nil, fmt.Errorf("%q disassembles as %q", inst, texts[i])
		}
		table[inst] = words[i]
	}
	return table, nil
}
