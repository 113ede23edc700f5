package boltstore

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/polysse/polysse/server/store"
)

// BulkLoad writes n updates, made by mk, into a new log file at path, in a
// few large unsynced transactions: how a benchmark fills a log with a
// million updates in seconds rather than the minutes of as many Appends.
func BulkLoad(path string, n int, mk func(i int) store.Update) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	var bytes int64
	const perTx = 100_000
	for start := 0; start < n; start += perTx {
		err := db.Update(func(tx *bolt.Tx) error {
			for _, name := range []string{logBucket, idBucket, metaBucket} {
				if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return err
				}
			}
			if err := tx.Bucket([]byte(metaBucket)).Put([]byte(versionKey), []byte(fileVersion)); err != nil {
				return err
			}
			lb, ib := tx.Bucket([]byte(logBucket)), tx.Bucket([]byte(idBucket))
			lb.FillPercent, ib.FillPercent = 1, 0.9 // appended in key order
			for i := start; i < min(n, start+perTx); i++ {
				seq, err := lb.NextSequence()
				if err != nil {
					return err
				}
				u := mk(i)
				u.Pos, u.Time = store.Pos{Lo: seq}, now
				k := keyOf(seq)
				if err := lb.Put(k, encode(&u)); err != nil {
					return err
				}
				if err := ib.Put([]byte(u.Event.ID), k); err != nil {
					return err
				}
				bytes += store.Size(&u)
			}
			return putBytes(tx.Bucket([]byte(metaBucket)), bytes)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
