package powerloss

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// WriteFile makes path hold the image: the file with its content and length,
// or no file at all for a Missing image.
func (im *Image) WriteFile(path string) error {
	if im.Missing {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("powerloss: image: %w", err)
		}
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("powerloss: image: %w", err)
	}
	err = im.write(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("powerloss: image %s: %w", path, cerr)
	}
	return err
}

func (im *Image) write(f *os.File) error {
	for p, data := range im.Pages {
		off := int64(p) * PageSize
		n := min(int64(PageSize), im.Size-off)
		if data == nil || n <= 0 {
			continue // a hole reads as zeros
		}
		if _, err := f.WriteAt(data[:n], off); err != nil {
			return fmt.Errorf("powerloss: image %s: %w", f.Name(), err)
		}
	}
	if err := f.Truncate(im.Size); err != nil {
		return fmt.Errorf("powerloss: image %s: %w", f.Name(), err)
	}
	return nil
}

// Content returns the image's bytes, or nil for a Missing image.
func (im *Image) Content() []byte {
	if im.Missing {
		return nil
	}
	out := make([]byte, im.Size)
	for p, data := range im.Pages {
		if data != nil {
			copy(out[int64(p)*PageSize:], data)
		}
	}
	return out
}
