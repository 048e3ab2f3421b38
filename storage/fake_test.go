package kubestorage

import (
	"fmt"
	"strconv"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newFakeClientset returns client-go's fake clientset made to treat
// resourceVersions and UIDs as the API server does, which the fake alone
// does not: every write gives the object a new resourceVersion, an update
// that carries another one fails with a conflict, and so does a delete
// whose preconditions do not hold. (The fake runs its reactors under one
// lock, so each check and write is atomic, as in the API server.)
func newFakeClientset() *fake.Clientset {
	c := fake.NewClientset()
	var version atomic.Int64
	var uids atomic.Int64
	c.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		gvr, ns := action.GetResource(), action.GetNamespace()
		switch a := action.(type) {
		case k8stesting.CreateActionImpl:
			obj, err := meta.Accessor(a.GetObject())
			if err != nil {
				return true, nil, err
			}
			if obj.GetResourceVersion() != "" {
				return true, nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
			}
			obj.SetResourceVersion(strconv.FormatInt(version.Add(1), 10))
			obj.SetUID(types.UID(fmt.Sprintf("uid-%d", uids.Add(1))))
		case k8stesting.UpdateActionImpl:
			obj, err := meta.Accessor(a.GetObject())
			if err != nil {
				return true, nil, err
			}
			cur, err := c.Tracker().Get(gvr, ns, obj.GetName())
			if err != nil {
				return true, nil, err
			}
			curMeta, _ := meta.Accessor(cur)
			if rv := obj.GetResourceVersion(); rv != "" && rv != curMeta.GetResourceVersion() {
				return true, nil, apierrors.NewConflict(gvr.GroupResource(), obj.GetName(), fmt.Errorf("the object has been modified"))
			}
			obj.SetUID(curMeta.GetUID())
			obj.SetResourceVersion(strconv.FormatInt(version.Add(1), 10))
		case k8stesting.DeleteActionImpl:
			pre := a.DeleteOptions.Preconditions
			if pre == nil {
				return false, nil, nil
			}
			cur, err := c.Tracker().Get(gvr, ns, a.Name)
			if err != nil {
				return true, nil, err
			}
			curMeta, _ := meta.Accessor(cur)
			if (pre.UID != nil && *pre.UID != curMeta.GetUID()) || (pre.ResourceVersion != nil && *pre.ResourceVersion != curMeta.GetResourceVersion()) {
				return true, nil, apierrors.NewConflict(gvr.GroupResource(), a.Name, fmt.Errorf("the preconditions do not hold"))
			}
		}
		return false, nil, nil
	})
	return c
}
