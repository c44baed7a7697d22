package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// synced is a committed batch waiting for the fsync that makes it durable.
type synced struct {
	ops  []*op
	errs []error // each op's own outcome; nil for those that succeeded
}

// syncer makes committed batches durable and only then acknowledges them:
// it fsyncs the WAL (which holds every frame of every commit so far), then
// runs the ops' after hooks and answers their callers, batch by batch in
// commit order. Batches that committed while the previous fsync ran share
// the next one; the writer commits the next batch while an fsync runs, so
// that its writes overlap the disk's wait (see commitBatch).
//
// Readers (the API, a stream's backlog) can see a committed batch for the
// moment its fsync takes; its senders' answers and its live events wait
// for the fsync. After a power cut in that moment the batch is gone, but no
// sender was told it was stored.
func (db *DB) syncer() {
	defer db.wg.Done()
	defer db.wal.close()
	var pending []*synced
	for b := range db.syncq {
		pending = append(pending[:0], b)
	more:
		for {
			select {
			case b, ok := <-db.syncq:
				if !ok {
					break more
				}
				pending = append(pending, b)
			default:
				break more
			}
		}
		// The commits taken are covered by this fsync; the writer may
		// commit the next batch now, so that its write overlaps the fsync.
		db.waiting.Add(-int64(len(pending)))
		select {
		case db.syncTook <- struct{}{}:
		default:
		}
		sync := db.wal.sync
		if db.opts.syncWAL != nil {
			sync = db.opts.syncWAL
		}
		start := time.Now()
		err := sync(db.path + "-wal")
		db.stats.SyncNano.Add(int64(time.Since(start)))
		db.stats.Syncs.Add(1)
		if err != nil {
			db.log.Error("fsync of the WAL failed: the last commits are not acknowledged", "error", err)
			err = fmt.Errorf("make durable: %w", err)
		}
		for _, b := range pending {
			for i, o := range b.ops {
				if b.errs[i] == nil {
					b.errs[i] = err
				}
				if b.errs[i] == nil && o.after != nil {
					o.after()
				}
				o.done <- b.errs[i]
			}
		}
		clear(pending) // let the bodies go
	}
}

// walFile is the database's write-ahead log, opened for fsync only.
type walFile struct {
	f    *os.File
	info os.FileInfo
}

// sync fsyncs the WAL at path. It reopens the file when it was replaced
// (a fsync on an old descriptor would make nothing durable), and fsyncs the
// folder once when it first opens the file, so that the file's name is
// durable too.
func (w *walFile) sync(path string) error {
	cur, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// No WAL: nothing was ever written to one, everything committed
		// so far is in the database file, which checkpoints sync.
		w.close()
		return nil
	}
	if err != nil {
		return err
	}
	if w.f == nil || !os.SameFile(cur, w.info) {
		w.close()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return err
		}
		w.f, w.info = f, info
	}
	return datasync(w.f)
}

func (w *walFile) close() {
	if w.f != nil {
		w.f.Close()
		w.f, w.info = nil, nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
