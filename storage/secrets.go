package kubestorage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/caddyserver/certmagic"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// storeAttempts bounds the retries of a Store that races with another
// writer of the same key.
const storeAttempts = 5

// listPage is the page size of the lists of Secrets.
const listPage = 500

// Store puts value at key, in the Secret of key. A value larger than a
// Secret holds is refused.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	key, err := checkKey(key)
	if err != nil {
		return err
	}
	if len(value) > maxValueSize {
		return fmt.Errorf("storage key %q: value of %d bytes exceeds the %d bytes a Secret holds", key, len(value), maxValueSize)
	}
	secrets, _, err := s.clients()
	if err != nil {
		return err
	}
	name := s.secretName(key)
	for range storeAttempts {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{
					Name:        name,
					Labels:      s.labels(key),
					Annotations: map[string]string{annotationKey: key, annotationModified: now},
				},
				Type: secretType,
				Data: map[string][]byte{dataKey: value},
			}
			_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // stored meanwhile: update it
			}
			if err != nil {
				return fmt.Errorf("storing %q in secret %s/%s: %w", key, s.Namespace, name, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("storing %q: reading secret %s/%s: %w", key, s.Namespace, name, err)
		}
		if err := s.owns(cur, key); err != nil {
			return fmt.Errorf("storing %q: %w", key, err)
		}
		cur.Labels = s.labels(key)
		cur.Annotations[annotationModified] = now
		cur.Data = map[string][]byte{dataKey: value}
		// Conditional on the resourceVersion read: a concurrent Store is
		// never half-applied; the later one wins.
		_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("storing %q in secret %s/%s: %w", key, s.Namespace, name, err)
		}
		return nil
	}
	return fmt.Errorf("storing %q in secret %s/%s: changed by others %d times in a row", key, s.Namespace, name, storeAttempts)
}

// owns returns an error unless secret is this storage's Secret of key.
// Names are hashes, so this fails only for a Secret made by someone else.
func (s *Storage) owns(secret *corev1.Secret, key string) error {
	if secret.Type != secretType || secret.Labels[labelStorage] != s.Prefix || secret.Annotations[annotationKey] != key {
		return fmt.Errorf("secret %s/%s is not this storage's secret of the key (type %q, %s=%q, %s=%q)",
			s.Namespace, secret.Name, secret.Type, labelStorage, secret.Labels[labelStorage], annotationKey, secret.Annotations[annotationKey])
	}
	return nil
}

// get returns the Secret of key (clean), or an error wrapping
// fs.ErrNotExist.
func (s *Storage) get(ctx context.Context, secrets secretClient, key string) (*corev1.Secret, error) {
	name := s.secretName(key)
	secret, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("storage key %q: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("storage key %q: reading secret %s/%s: %w", key, s.Namespace, name, err)
	}
	if err := s.owns(secret, key); err != nil {
		return nil, fmt.Errorf("storage key %q: %w", key, err)
	}
	return secret, nil
}

// Load returns the value at key; an error wrapping fs.ErrNotExist if
// there is none.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	key, err := checkKey(key)
	if err != nil {
		return nil, err
	}
	secrets, _, err := s.clients()
	if err != nil {
		return nil, err
	}
	secret, err := s.get(ctx, secrets, key)
	if err != nil {
		return nil, err
	}
	return secret.Data[dataKey], nil
}

// Delete deletes key and every key under it. A key that does not exist is
// no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	key, err := checkKey(key)
	if err != nil {
		return err
	}
	secrets, _, err := s.clients()
	if err != nil {
		return err
	}
	names := []string{s.secretName(key)}
	below, err := s.list(ctx, secrets, key, 0)
	if err != nil {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	for _, secret := range below {
		names = append(names, secret.Name)
	}
	var errs []error
	for _, name := range names {
		err := secrets.Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %q: secret %s/%s: %w", key, s.Namespace, name, err))
		}
	}
	return errors.Join(errs...)
}

// Exists reports whether key is a key or a directory of keys; false if
// that cannot be found out.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// Stat returns what is known of key: a key with its size and time of
// storing, or a directory. An error wraps fs.ErrNotExist if it is neither.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	key, err := checkKey(key)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	secrets, _, err := s.clients()
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	secret, err := s.get(ctx, secrets, key)
	if err == nil {
		modified, _ := time.Parse(time.RFC3339Nano, secret.Annotations[annotationModified])
		return certmagic.KeyInfo{Key: key, Modified: modified, Size: int64(len(secret.Data[dataKey])), IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, err
	}
	below, err := s.list(ctx, secrets, key, 1)
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("storage key %q: %w", key, err)
	}
	if len(below) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("storage key %q: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// List returns the keys under dir, as certmagic's FileStorage does: the
// keys and directories directly in dir, or, recursive, every key and
// directory beneath it, each as a full key. A dir that is a key holds
// nothing; one that is neither gives an error wrapping fs.ErrNotExist.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	dir = cleanKey(dir)
	if dir != "" {
		if _, err := checkKey(dir); err != nil {
			return nil, err
		}
	}
	secrets, _, err := s.clients()
	if err != nil {
		return nil, err
	}
	below, err := s.list(ctx, secrets, dir, 0)
	if err != nil {
		return nil, fmt.Errorf("listing %q: %w", dir, err)
	}
	var keys []string
	for _, secret := range below {
		keys = append(keys, under(dir, secret.Annotations[annotationKey], recursive)...)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) == 0 && dir != "" {
		if _, err := s.get(ctx, secrets, dir); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// list returns the Secrets of the keys under dir (clean, "" for all), at
// most limit of them if limit > 0.
func (s *Storage) list(ctx context.Context, secrets secretClient, dir string, limit int64) ([]corev1.Secret, error) {
	opts := metav1.ListOptions{LabelSelector: s.selector(dir), Limit: listPage}
	if limit > 0 {
		opts.Limit = limit
	}
	var out []corev1.Secret
	for {
		page, err := secrets.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing secrets in %s: %w", s.Namespace, err)
		}
		for _, secret := range page.Items {
			// Only this storage's own, under dir: a Secret that others
			// labelled alike is left alone.
			key := secret.Annotations[annotationKey]
			if secret.Type != secretType || key == "" || (dir != "" && len(under(dir, key, false)) == 0) {
				continue
			}
			out = append(out, secret)
		}
		if opts.Continue = page.Continue; opts.Continue == "" || (limit > 0 && int64(len(out)) >= limit) {
			return out, nil
		}
	}
}
