package config

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// MaxFileSize bounds one configuration file.
const MaxFileSize = 4 << 20

// MaxFolderSize bounds the .yaml and .yml files of a configuration folder together.
const MaxFolderSize = 32 << 20

// configFiles lists the files to read for Load's path: the path itself if it is a regular file,
// the .yaml and .yml entries of a folder. Anything else (a named pipe, a socket, a device) is
// refused without being opened: reading a named pipe blocks until someone writes to it.
func configFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	switch {
	case info.IsDir():
		return yamlFiles(path)
	case info.Mode().IsRegular():
		return []string{path}, nil
	}
	return nil, fmt.Errorf("read configuration: %s is %s; --config must be a regular file or a folder", path, fileKind(info.Mode()))
}

// yamlFiles lists the .yaml and .yml entries of dir in name order, except folders (and symbolic
// links to folders). Entries that are not regular files are listed, for readConfigFile to refuse.
func yamlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read configuration folder: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := filepath.Join(dir, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			if info, err := os.Stat(file); err == nil && info.IsDir() {
				continue
			}
		}
		files = append(files, file)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("configuration folder %s holds no .yaml or .yml file", dir)
	}
	sort.Strings(files)
	return files, nil
}

// readConfigFile reads one configuration file of at most MaxFileSize bytes. A file that is not
// regular, or a symbolic link to one, is refused before it is opened.
func readConfigFile(file string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(info.Mode())
	}
	return readOpened(file)
}

// readOpened opens file without blocking (O_NONBLOCK: a named pipe put in the file's place since
// it was checked opens at once instead of waiting for a writer), checks the open file again and
// reads it.
func readOpened(file string) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(info.Mode())
	}
	if info.Size() > MaxFileSize {
		return nil, errFileTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, errFileTooLarge
	}
	return data, nil
}

var errFileTooLarge = fmt.Errorf("file is larger than the %d MiB limit for configuration files", MaxFileSize>>20)

func notRegular(mode fs.FileMode) error {
	return fmt.Errorf("is %s; configuration files must be regular files", fileKind(mode))
}

// fileKind names the type of a file that is not regular, for messages.
func fileKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	case mode.IsDir():
		return "a folder"
	}
	return "not a regular file"
}
