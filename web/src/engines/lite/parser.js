// The event-stream parser of the lite engine: the HTML standard's "event
// stream interpretation" over text the browser has already decoded as UTF-8
// (XMLHttpRequest's responseText, whose decoding strips the one leading byte
// order mark the standard strips). It is polysse's one parser besides the
// sse package's, which IE cannot run; the conformance suite's ie11 column
// holds it to the same cases.

var MAX_MS = 2147483647;

// parser returns a parser that calls dispatch(type, data, lastEventId) for
// each event and setRetry(ms) for each valid retry field.
//
//   p.feed(text[, stop])  parses the next part of the stream; with stop, it
//                 stops at the first point where clean() holds (at the start
//                 of text, or after a line) and returns the index in text
//                 of what it left, or -1 when it parsed it all
//   p.reset()     forgets a partial line and event, for a new connection;
//                 the last event ID string stays
//   p.lastId      the last event ID string, what a reconnection resumes from
//   p.clean()     nothing of a partial event is held, nor a CR whose LF
//                 may start the next part: the stream can move to a new
//                 connection, or to another parser, without losing or
//                 repeating anything
//   p.line(l)     interprets one whole line that is not a data line (the
//                 blank line included): for bytes.js, which finds the
//                 lines and keeps the data lines' values itself
//   p.event(data) the blank line after data lines, whose values joined by
//                 LF are data: dispatches as the blank line does
export function parser(dispatch, setRetry) {
  var line = ''; // the unfinished line
  var parts = 0; // how many parts of the stream it came from
  var skipLF = false; // the last part ended with CR: an LF starting the next belongs to it
  var data = '';
  var type = '';
  var id = '';
  var pending = false; // a field since the last blank line
  var lines = 0; // data lines in the event
  var own = null; // its one data line's value, when a string of its own (see process)

  // process interprets one line. joined says that the line was put
  // together from two or more parts of the stream: it is then a
  // string of its own, not a slice of a part, so that a data value cut from
  // it is handed to the page as is, uncopied (a long line split across
  // parts would otherwise be copied twice: joined, then again with the
  // event's data). A value cut from a part is copied by the join with the
  // event's data, so that the page's strings do not keep the whole part
  // (up to megabytes of XHR text) alive.
  function process(l, joined) {
    if (l === '') {
      blank(lines ? (lines === 1 && own !== null ? own : data.substring(0, data.length - 1)) : null);
      return;
    }
    if (l.charCodeAt(0) === 58) return; // ':' a comment
    pending = true;
    var c = l.indexOf(':');
    var name = c < 0 ? l : l.substring(0, c);
    var value = c < 0 ? '' : l.substring(l.charCodeAt(c + 1) === 32 ? c + 2 : c + 1);
    if (name === 'data') {
      data += value + '\n';
      own = ++lines === 1 && joined ? value : null;
    } else if (name === 'event') {
      type = value;
    } else if (name === 'id') {
      if (value.indexOf('\u0000') < 0) id = value;
    } else if (name === 'retry' && /^[0-9]+$/.test(value)) {
      var ms = parseInt(value, 10);
      setRetry(ms > MAX_MS ? MAX_MS : ms);
    }
  }

  // blank dispatches the event, with data d (null: the block had no data
  // line, and only makes its id current).
  function blank(d) {
    p.lastId = id;
    pending = false;
    if (d !== null) dispatch(type || 'message', d, id);
    data = type = '';
    lines = 0;
    own = null;
  }

  var p = {
    lastId: '',
    line: function (l) {
      process(l, false);
    },
    event: blank,
    clean: function () {
      return !pending && !skipLF && line === '';
    },
    reset: function () {
      line = data = type = '';
      parts = lines = 0;
      own = null;
      id = p.lastId;
      skipLF = pending = false;
    },
    feed: function (s, stop) {
      var n = s.length;
      var i = 0;
      if (skipLF && i < n) {
        skipLF = false;
        if (s.charCodeAt(i) === 10) i++;
      }
      if (stop && p.clean()) return i;
      // The next CR and LF at or after i; -1 once there is none.
      var cr = -2;
      var lf = -2;
      while (i < n) {
        if (cr !== -1 && cr < i) cr = s.indexOf('\r', i);
        if (lf !== -1 && lf < i) lf = s.indexOf('\n', i);
        var j = cr < 0 ? lf : lf < 0 || cr < lf ? cr : lf;
        if (j < 0) {
          line += s.substring(i);
          parts++;
          break;
        }
        var joined = parts + (j > i ? 1 : 0) > 1;
        var l = parts ? line + s.substring(i, j) : s.substring(i, j);
        line = '';
        parts = 0;
        if (j === cr) {
          if (j + 1 === n) skipLF = true; else if (s.charCodeAt(j + 1) === 10) j++;
        }
        i = j + 1;
        process(l, joined);
        if (stop && p.clean()) return i;
      }
      return -1;
    }
  };
  return p;
}
