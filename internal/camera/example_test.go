package camera_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"

	"github.com/piresnet/piresnet/internal/camera"
)

type sizeClassifier struct{}

func (sizeClassifier) Classify(img image.Image) ([]camera.Prediction, error) {
	label := "landscape"
	if b := img.Bounds(); b.Dy() > b.Dx() {
		label = "portrait"
	}
	return []camera.Prediction{{Label: label, Prob: 1}}, nil
}

func ExampleRun() {
	// An MJPEG stream as rpicam-vid writes it, with some garbage and a
	// cut frame in it.
	var stream bytes.Buffer
	for i, size := range []image.Rectangle{image.Rect(0, 0, 32, 16), image.Rect(0, 0, 16, 32), image.Rect(0, 0, 32, 16)} {
		var b bytes.Buffer
		jpeg.Encode(&b, image.NewGray(size), nil)
		if i == 1 {
			stream.Write(b.Bytes()[:100]) // cut
			stream.WriteString("noise")
		}
		stream.Write(b.Bytes())
	}
	src := camera.NewReaderSource("stdin", io.NopCloser(&stream), 0)
	st, err := camera.Run(context.Background(), src, sizeClassifier{}, camera.Options{
		Lossless: true, // a recording: classify every frame
		OnResult: func(r camera.Result) {
			fmt.Printf("frame %d %dx%d: %s\n", r.Seq, r.Width, r.Height, r.Predictions[0].Label)
		},
	})
	fmt.Printf("in %d, classified %d, dropped %d, bad %d, err %v\n", st.FramesIn, st.Classified, st.Dropped, st.Bad, err)
	// Output:
	// frame 1 32x16: landscape
	// frame 2 16x32: portrait
	// frame 3 32x16: landscape
	// in 3, classified 3, dropped 0, bad 1, err <nil>
}
