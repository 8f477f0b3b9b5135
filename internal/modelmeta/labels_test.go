package modelmeta

import (
	"slices"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{"a\nb\nc\n", []string{"a", "b", "c"}, ""},
		{"\ufeffT-shirt/top\r\nTrouser\r\n\r\n\n", []string{"T-shirt/top", "Trouser"}, ""},
		{"  ankle boot \nbag", []string{"ankle boot", "bag"}, ""},
		{"a\n\nc\n", nil, "line 2 is empty"},
		{"", nil, "no labels"},
		{"\n \n", nil, "no labels"},
		{"a\rb\n", nil, "carriage return"},
		{strings.Repeat("x", MaxLabelBytes+1), nil, "longer than"},
		{strings.Repeat("a\n", MaxLabels+1), nil, "more than"},
	} {
		got, err := ParseLabels(strings.NewReader(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%.20q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%.20q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzParseLabels: any input gives labels or an error, never a panic;
// accepted labels are valid metadata labels and survive a round trip.
func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{"a\nb\n", "\ufeffx\r\ny\r\n", "a\n\nb", "", "\r", " \t\n", "\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		labels, err := ParseLabels(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		md := Metadata{Architecture: "x", Labels: labels, InputChannels: 1, Mean: []float32{0}, Std: []float32{1}, InputHeight: 1, InputWidth: 1}
		if err := md.Validate(); err != nil {
			t.Fatalf("accepted labels %q fail Validate: %v", labels, err)
		}
		again, err := ParseLabels(strings.NewReader(strings.Join(labels, "\n")))
		if err != nil || !slices.Equal(again, labels) {
			t.Fatalf("round trip of %q: %q, %v", labels, again, err)
		}
	})
}
