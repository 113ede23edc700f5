// Event streams and the events the standard makes of them, [text,
// [[type, data, lastEventId], …]]: the lite engine's parser is held to them
// over text (lite.test.mjs) and over bytes (bytes.test.mjs).

export const streamCases = [
  ['data: a\n\ndata: b\n\n', [['message', 'a', ''], ['message', 'b', '']]],
  ['data: a\r\rdata: b\r\r', [['message', 'a', ''], ['message', 'b', '']]],
  ['data: a\r\ndata: b\rdata: c\n\r\n', [['message', 'a\nb\nc', '']]],
  // responseText has lost the first BOM already: another one is part of
  // the field name.
  ['\uFEFFdata: 1\n\ndata: 2\n\n', [['message', '2', '']]],
  [': c\ndata: a\n:\n\n: only\n\ndata: b\n\n', [['message', 'a', ''], ['message', 'b', '']]],
  ['foo: bar\ndata: a\nDATA: x\n data: z\ndata : w\n\n', [['message', 'a', '']]],
  ['data:a\n\ndata: b\n\ndata:  c\n\ndata:\td\n\n', [['message', 'a', ''], ['message', 'b', ''], ['message', ' c', ''], ['message', '\td', '']]],
  ['data\n\ndata\ndata\n\ndata:x\n\n', [['message', '', ''], ['message', '\n', ''], ['message', 'x', '']]],
  ['event: foo\n\n\n\nid: 1\n\n:\n\ndata: x\n\n', [['message', 'x', '1']]],
  ['data: a\ndata:\n\ndata: b\n\n', [['message', 'a\n', ''], ['message', 'b', '']]],
  ['event: add\ndata: 1\n\nevent:\ndata: 2\n\nevent: a\nevent: b\ndata: 3\n\n', [['add', '1', ''], ['message', '2', ''], ['b', '3', '']]],
  ['id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\ndata: d\n\n', [['message', 'a', '1'], ['message', 'b', '1'], ['message', 'c', ''], ['message', 'd', '2']]],
  ['id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\n', [['message', 'a', '1'], ['message', 'b', '1']]],
  ['data: x\u0000y\n\n', [['message', 'x\u0000y', '']]],
  ['data: abcdefghijklmnopqrstuvwxyz\ndata: 0123456789\n\ndata: ABCDEFGHIJKLMNOPQRSTUVWXYZ\n\n',
    [['message', 'abcdefghijklmnopqrstuvwxyz\n0123456789', ''], ['message', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '']]],
];
