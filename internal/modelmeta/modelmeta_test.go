package modelmeta

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

func sample() *Metadata {
	return &Metadata{
		Architecture:  "resnet18",
		Labels:        []string{"cat", "dog, \"big\"", "ünïcode ✓"},
		InputChannels: 3,
		Mean:          ImageNetMean,
		Std:           ImageNetStd,
		InputHeight:   240,
		InputWidth:    320,
		SourceSHA256:  strings.Repeat("ab", 32),
		SourceFile:    "stage-1.pth",
	}
}

func TestRoundTripThroughCodec(t *testing.T) {
	m := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}}, Graph: &onnx.Graph{Name: "g"},
		MetadataProps: []onnx.StringPair{{Key: "other.tool", Value: "kept"}}}
	md := sample()
	if err := md.Apply(m); err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(back)
	if err != nil {
		t.Fatal(err)
	}
	if got.Architecture != md.Architecture || !slices.Equal(got.Labels, md.Labels) ||
		got.InputChannels != 3 || !slices.Equal(got.Mean, md.Mean) || !slices.Equal(got.Std, md.Std) ||
		got.InputHeight != 240 || got.InputWidth != 320 || got.SourceSHA256 != md.SourceSHA256 || got.SourceFile != md.SourceFile {
		t.Fatalf("got %+v, want %+v", got, md)
	}
	if v, _ := back.Metadata("other.tool"); v != "kept" {
		t.Errorf("other metadata lost: %q", v)
	}
	if v, _ := back.Metadata(KeyMean); v != "0.485,0.456,0.406" {
		t.Errorf("%s = %q", KeyMean, v)
	}
	// Apply again replaces, never duplicates.
	md.Labels = []string{"a", "b"}
	if err := md.Apply(back); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range back.MetadataProps {
		if p.Key == KeyLabels {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d %s entries", n, KeyLabels)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Metadata)
		want   string
	}{
		{"no labels", func(m *Metadata) { m.Labels = nil }, "no labels"},
		{"empty label", func(m *Metadata) { m.Labels[1] = " " }, "label 1 is empty"},
		{"newline", func(m *Metadata) { m.Labels[0] = "a\nb" }, "line break"},
		{"channels", func(m *Metadata) { m.InputChannels = 1 }, "1 input channels need 1 mean"},
		{"std zero", func(m *Metadata) { m.Std = []float32{1, 0, 1} }, "std[1]"},
		{"size", func(m *Metadata) { m.InputWidth = 0 }, "input size"},
		{"sha", func(m *Metadata) { m.SourceSHA256 = "ABC" }, "SHA-256"},
		{"arch", func(m *Metadata) { m.Architecture = "" }, "architecture"},
	} {
		md := sample()
		md.Labels = slices.Clone(md.Labels)
		c.change(md)
		err := md.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if err := md.Apply(&onnx.Model{}); err == nil {
			t.Errorf("%s: Apply accepted invalid metadata", c.name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse(&onnx.Model{}); !errors.Is(err, ErrNoMetadata) {
		t.Errorf("no metadata: %v", err)
	}
	good := &onnx.Model{}
	if err := sample().Apply(good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, value, want string }{
		{KeySchema, "2", "schema 1"},
		{KeyLabels, "cat,dog", "JSON array"},
		{KeyInputChannels, "three", "not an integer"},
		{KeyMean, "0.1,nan,0.3", "finite"},
		{KeyStd, "", "no values"},
		{KeyInputSize, "224x", "HxW"},
		{KeyMean, "0.1,0.2", "need 3 mean"},
	} {
		m := &onnx.Model{MetadataProps: slices.Clone(good.MetadataProps)}
		m.SetMetadata(c.key, c.value)
		if _, err := Parse(m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: got %v, want %q", c.key, c.value, err, c.want)
		}
	}
	m := &onnx.Model{}
	m.SetMetadata(KeySchema, Schema)
	if _, err := Parse(m); err == nil || !strings.Contains(err.Error(), KeyArchitecture+" is missing") {
		t.Errorf("missing key: %v", err)
	}
}

func TestParseSizeAndFloats(t *testing.T) {
	for s, want := range map[string][2]int{"224x224": {224, 224}, "240x320": {240, 320}, " 96 ": {96, 96}} {
		h, w, err := ParseSize(s)
		if err != nil || h != want[0] || w != want[1] {
			t.Errorf("ParseSize(%q) = %d, %d, %v", s, h, w, err)
		}
	}
	for _, s := range []string{"", "0x5", "-3", "1x2x3", "99999999x1"} {
		if _, _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
	v, err := ParseFloats(" 0.2860, 1e-3 ")
	if err != nil || !slices.Equal(v, []float32{0.286, 0.001}) {
		t.Errorf("ParseFloats: %v %v", v, err)
	}
	for _, f := range [][]float32{{0.1, 0.2, 0.3}, {1.0 / 3}, {0.35302424}} {
		back, err := ParseFloats(FormatFloats(f))
		if err != nil || !slices.Equal(back, f) {
			t.Errorf("FormatFloats(%v) reads back as %v, %v", f, back, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	m := &onnx.Model{}
	if err := sample().Apply(m); err != nil {
		f.Fatal(err)
	}
	labels, _ := m.Metadata(KeyLabels)
	f.Add(labels, "3", "0.485,0.456,0.406", "0.229,0.224,0.225", "224x224")
	f.Add("[]", "0", "", "x", "1")
	f.Fuzz(func(t *testing.T, labels, ch, mean, std, size string) {
		m := &onnx.Model{}
		m.SetMetadata(KeySchema, Schema)
		m.SetMetadata(KeyArchitecture, "a")
		m.SetMetadata(KeyLabels, labels)
		m.SetMetadata(KeyInputChannels, ch)
		m.SetMetadata(KeyMean, mean)
		m.SetMetadata(KeyStd, std)
		m.SetMetadata(KeyInputSize, size)
		md, err := Parse(m)
		if err != nil {
			return
		}
		// What parses validates and survives a round trip.
		m2 := &onnx.Model{}
		if err := md.Apply(m2); err != nil {
			t.Fatalf("parsed metadata does not apply: %v", err)
		}
		md2, err := Parse(m2)
		if err != nil || !slices.Equal(md2.Labels, md.Labels) || !slices.Equal(md2.Mean, md.Mean) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
