package kubeclient

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
)

// EventSink is the record.EventSink of client: it writes each Event in
// its own namespace, as client-go's typedcorev1.EventSinkImpl does.
type EventSink struct {
	Client Interface
}

func (e EventSink) Create(event *corev1.Event) (*corev1.Event, error) {
	return e.Client.Events(event.Namespace).Create(context.Background(), event, metav1.CreateOptions{})
}

func (e EventSink) Update(event *corev1.Event) (*corev1.Event, error) {
	return e.Client.Events(event.Namespace).Update(context.Background(), event, metav1.UpdateOptions{})
}

func (e EventSink) Patch(event *corev1.Event, data []byte) (*corev1.Event, error) {
	return e.Client.Events(event.Namespace).Patch(context.Background(), event.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
}

// Interface guards
var _ record.EventSink = EventSink{}
