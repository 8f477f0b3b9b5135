package modelmeta

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
)

// Limits of a labels file: far above any classifier (ImageNet-21k has
// 21,841 classes), small enough that a hostile file cannot exhaust memory.
const (
	MaxLabelsFileBytes = 16 << 20
	MaxLabels          = 1 << 20
	MaxLabelBytes      = 4 << 10
)

// ParseLabels reads class names, one per line, in output order. A UTF-8
// byte order mark, surrounding spaces and a trailing \r are removed, and
// blank lines at the end are ignored; a blank line before the last label
// is an error (it would shift every class after it), and so are a label
// with a carriage return inside it and the limits above.
func ParseLabels(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxLabelsFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxLabelsFileBytes {
		return nil, fmt.Errorf("more than %d bytes", MaxLabelsFileBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	var labels []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxLabelBytes+2)
	for sc.Scan() {
		if len(labels) == MaxLabels {
			return nil, fmt.Errorf("more than %d labels", MaxLabels)
		}
		// Spaces and U+FEFF (a byte order mark, or a zero-width no-break
		// space pasted into a line) are trimmed from both ends: a label
		// that began with U+FEFF would lose it when written back as a
		// file's first line.
		l := strings.TrimFunc(sc.Text(), func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' })
		if strings.ContainsAny(l, "\r\n") {
			return nil, fmt.Errorf("line %d holds a carriage return", len(labels)+1)
		}
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d is longer than %d bytes", len(labels)+1, MaxLabelBytes)
		}
		return nil, err
	}
	for len(labels) > 0 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	if len(labels) == 0 {
		return nil, errors.New("no labels")
	}
	for i, l := range labels {
		if l == "" {
			return nil, fmt.Errorf("line %d is empty", i+1)
		}
		if len(l) > MaxLabelBytes {
			return nil, fmt.Errorf("line %d is longer than %d bytes", i+1, MaxLabelBytes)
		}
	}
	return labels, nil
}

// ReadLabels reads a labels file with ParseLabels; errors name the file.
func ReadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a folder, not a labels file", path)
	}
	labels, err := ParseLabels(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return labels, nil
}
