package camera

import "image"

// Prediction is one class and its probability.
type Prediction struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// Classifier labels one image. Implementations return every class,
// sorted by decreasing probability (callers take the top K), and resize
// and normalize the image themselves (the model's preprocessing).
//
// cmd/edge implements it on runtime and imageprep; tests use fakes.
type Classifier interface {
	Classify(img image.Image) ([]Prediction, error)
}
