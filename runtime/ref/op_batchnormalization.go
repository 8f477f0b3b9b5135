package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// BatchNormalization (opsets 1, 6, 7, 9, 14, 15).
//
// Inference: Y = (X - mean) / sqrt(var + epsilon) * scale + B per channel
// (axis 1), evaluated in float64 per element and rounded once. Before opset
// 9, spatial=0 gives scale, B, mean and var the shape C x D1 x ... (one
// value per element of an image instead of per channel).
//
// Training (training_mode=1, opset 14 and later): the statistics are the
// mean and the population variance of X over every axis but 1; the
// optional outputs are running_mean = mean*momentum + batch_mean*(1 -
// momentum) and running_var likewise (the ONNX reference). Before opset 14
// the training outputs (mean, var, saved_mean, saved_var) are not
// supported.
func buildBatchNormalization(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	eps := float64(r.float("epsilon", 1e-5))
	momentum := float64(r.float("momentum", 0.9))
	spatial := r.int("spatial", 1)
	training := r.int("training_mode", 0) != 0
	if r.err != nil {
		return nil, r.err
	}
	if opset >= 9 {
		spatial = 1
	}
	if opset < 14 && numOutputs(n) > 1 {
		return nil, fmt.Errorf("training outputs (mean, var, saved_mean, saved_var) are not supported")
	}
	if opset >= 14 && !training && numOutputs(n) > 1 {
		return nil, fmt.Errorf("running_mean and running_var are only defined with training_mode=1")
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if !isFloat(x.DataType) {
			return nil, fmt.Errorf("BatchNormalization is not defined for %v", x.DataType)
		}
		if len(x.Dims) < 2 {
			return nil, fmt.Errorf("input has dims %v, want at least N x C", x.Dims)
		}
		params := make([][]float64, 4)
		names := []string{"scale", "B", "mean", "var"}
		c := int(x.Dims[1])
		per := 1 // values per channel for spatial=0
		want := []int64{x.Dims[1]}
		if spatial == 0 {
			want = x.Dims[1:]
			per = prod(x.Dims[2:])
		}
		for i := range params {
			t, err := input(in, i+1, names[i])
			if err != nil {
				return nil, err
			}
			if !isFloat(t.DataType) {
				return nil, fmt.Errorf("%s has type %v, want a float type", names[i], t.DataType)
			}
			if !equalDims(t.Dims, want) {
				return nil, fmt.Errorf("%s has dims %v, want %v", names[i], t.Dims, want)
			}
			params[i] = toFloat64(t)
		}
		scale, bias, mean, vr := params[0], params[1], params[2], params[3]
		xd := toFloat64(x)
		batch, inner := int(x.Dims[0]), prod(x.Dims[2:])
		var bmean, bvar []float64
		if training {
			bmean = make([]float64, c)
			bvar = make([]float64, c)
			cnt := float64(batch * inner)
			for ch := 0; ch < c; ch++ {
				s := 0.0
				for b := 0; b < batch; b++ {
					for _, v := range xd[(b*c+ch)*inner : (b*c+ch+1)*inner] {
						s += v
					}
				}
				m := s / cnt
				ss := 0.0
				for b := 0; b < batch; b++ {
					for _, v := range xd[(b*c+ch)*inner : (b*c+ch+1)*inner] {
						ss += (v - m) * (v - m)
					}
				}
				bmean[ch], bvar[ch] = m, ss/cnt
			}
		}
		yd := make([]float64, len(xd))
		for b := 0; b < batch; b++ {
			for ch := 0; ch < c; ch++ {
				base := (b*c + ch) * inner
				for j := 0; j < inner; j++ {
					p := ch*per + j%per
					m, v := 0.0, 0.0
					if training {
						m, v = bmean[ch], bvar[ch]
					} else {
						m, v = mean[p], vr[p]
					}
					yd[base+j] = float64((xd[base+j]-m)/math.Sqrt(v+eps)*scale[p]) + bias[p]
				}
			}
		}
		y, err := newTensor(x.DataType, x.Dims)
		if err != nil {
			return nil, err
		}
		storeFloat64(y, yd)
		out := []*onnx.Tensor{y}
		if training {
			for i, stat := range [][]float64{bmean, bvar} {
				old := params[2+i]
				run := make([]float64, c)
				for ch := range run {
					run[ch] = float64(old[ch]*momentum) + float64(stat[ch]*(1-momentum))
				}
				t, err := newTensor(in[3+i].DataType, in[3+i].Dims)
				if err != nil {
					return nil, err
				}
				storeFloat64(t, run)
				out = append(out, t)
			}
		}
		return out, nil
	}), nil
}
