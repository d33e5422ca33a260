// A checking IMAP client for the idle-delivery and mixed modes of ImapLoad: every response is read whole
// (literals by length), parsed into its parts, and checked against the grammar of RFC 9051 section 9 and
// against the client's model of the selected mailbox. Anything that does not parse or contradicts the model
// is a ProtocolException: the load counts it as a protocol error.

using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>What a response is: tagged (a command's completion), untagged (<c>*</c>) or a continuation (<c>+</c>).</summary>
internal enum ResponseKind
{
    Tagged,
    Untagged,
    Continuation,
}

/// <summary>One response, parsed: for tagged ones and untagged status responses the status (OK, NO, BAD, BYE,
/// PREAUTH), the response code's atom and the text; for untagged data the number (of EXISTS, EXPUNGE, FETCH,
/// RECENT; -1 if none), its name (EXISTS, FETCH, FLAGS, ...) and its values.</summary>
internal sealed class ImapResponse
{
    public ResponseKind Kind;
    public string Tag = "";
    public string Status = "";
    public string Code = "";
    public string CodeArguments = "";
    public string Text = "";
    public long Number = -1;
    public string Name = "";
    public List<object> Values = [];
    /// <summary>When the response's last octet was read (Stopwatch ticks).</summary>
    public long Timestamp;
    public string Raw = "";
}

/// <summary>An IMAP value: an atom (or number, or NIL) is a string, a quoted string or literal an
/// <see cref="ImapString"/>, a parenthesised list a <see cref="List{T}"/> of values.</summary>
internal sealed record ImapString(byte[] Octets);

/// <summary>A connection that reads responses whole and parses them.</summary>
internal sealed class CheckedConnection : IDisposable
{
    private const int MaxResponse = 64 * 1024 * 1024;
    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private int _tag;

    private CheckedConnection(Socket socket) => _socket = socket;

    /// <summary>Octets received on this connection.</summary>
    public long Received { get; private set; }

    /// <summary>Connects and reads the greeting, which must be an untagged OK.</summary>
    public static async Task<CheckedConnection> OpenAsync(string host, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(host), port), cancellationToken);
            var connection = new CheckedConnection(socket);
            var greeting = await connection.ReadResponseAsync(cancellationToken);
            if (greeting.Kind != ResponseKind.Untagged || greeting.Status != "OK")
            {
                throw new ProtocolException($"greeting: {greeting.Raw}");
            }
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The next tag (a1, a2, ...).</summary>
    public string NextTag() => string.Create(CultureInfo.InvariantCulture, $"a{++_tag}");

    public async Task SendAsync(string text, CancellationToken cancellationToken) =>
        await SendAsync(Encoding.ASCII.GetBytes(text), cancellationToken);

    public async Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (data.Length > 0)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    /// <summary>Reads one response whole (its first line, each literal and the lines after them) and parses it.</summary>
    public async Task<ImapResponse> ReadResponseAsync(CancellationToken cancellationToken)
    {
        var octets = new List<byte>(256);
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            octets.AddRange(line);
            octets.Add((byte)'\r');
            octets.Add((byte)'\n');
            if (LiteralLength(line) is not { } length)
            {
                break;
            }
            if (octets.Count + length > MaxResponse)
            {
                throw new ProtocolException($"a response longer than {MaxResponse} octets");
            }
            octets.AddRange(await ReadOctetsAsync(length, cancellationToken));
        }
        var response = ResponseParser.Parse([.. octets]);
        response.Timestamp = Stopwatch.GetTimestamp();
        return response;
    }

    /// <summary>n when the line ends with {n} or {n+} or ~{n} (a literal follows), else null.</summary>
    private static int? LiteralLength(byte[] line)
    {
        if (line.Length < 3 || line[^1] != (byte)'}')
        {
            return null;
        }
        var open = Array.LastIndexOf(line, (byte)'{');
        if (open < 0 || !Utf8Parser.TryParse(line.AsSpan(open + 1, line.Length - open - 2), out int length, out var consumed)
            || consumed != line.Length - open - 2 || length < 0)
        {
            // A line may end with } in text (a resp-text): only a well-formed {n} is a literal.
            return null;
        }
        return length;
    }

    private async Task<byte[]> ReadOctetsAsync(int length, CancellationToken cancellationToken)
    {
        var data = new byte[length];
        var at = 0;
        while (at < length)
        {
            if (_end == _start)
            {
                await FillAsync(cancellationToken);
            }
            var take = Math.Min(length - at, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(data.AsSpan(at));
            _start += take;
            at += take;
        }
        return data;
    }

    /// <summary>The next line without its CRLF (a bare LF is a protocol error).</summary>
    private async Task<byte[]> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = _start;
        while (true)
        {
            var newline = _buffer.AsSpan(scanned, _end - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var end = scanned + newline;
                if (end == _start || _buffer[end - 1] != (byte)'\r')
                {
                    throw new ProtocolException("a line ended with a bare LF");
                }
                var line = _buffer.AsSpan(_start, end - 1 - _start).ToArray();
                _start = end + 1;
                return line;
            }
            scanned = _end;
            var before = _start;
            await FillAsync(cancellationToken);
            scanned -= before - _start;
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            else if (_buffer.Length < MaxResponse)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            else
            {
                throw new ProtocolException($"a line longer than {MaxResponse} octets");
            }
        }
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        if (read == 0)
        {
            throw new ProtocolException("the server closed the connection");
        }
        _end += read;
        Received += read;
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>Parses one whole response (RFC 9051 section 9: response-data, response-tagged, continue-req).</summary>
internal static class ResponseParser
{
    private const int MaxDepth = 32;

    public static ImapResponse Parse(byte[] data)
    {
        var raw = Encoding.Latin1.GetString(data, 0, Math.Min(data.Length, 2000)).TrimEnd('\r', '\n');
        var r = new ImapResponse { Raw = raw };
        var p = new Cursor(data, raw);
        if (p.TryTake("+"u8))
        {
            r.Kind = ResponseKind.Continuation;
            return r;
        }
        if (p.TryTake("* "u8))
        {
            r.Kind = ResponseKind.Untagged;
            r.Tag = "*";
        }
        else
        {
            r.Kind = ResponseKind.Tagged;
            r.Tag = p.Atom();
            p.Expect((byte)' ');
        }
        var first = p.Atom();
        if (first is "OK" or "NO" or "BAD" or "BYE" or "PREAUTH")
        {
            if (r.Kind == ResponseKind.Tagged && first is "BYE" or "PREAUTH")
            {
                throw new ProtocolException($"a tagged {first}: {raw}");
            }
            r.Status = first;
            StatusText(ref p, r);
            return r;
        }
        if (r.Kind == ResponseKind.Tagged)
        {
            throw new ProtocolException($"a tagged response without OK, NO or BAD: {raw}");
        }
        if (long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            r.Number = number;
            p.Expect((byte)' ');
            r.Name = p.Atom();
            switch (r.Name)
            {
                case "EXISTS" or "RECENT" or "EXPUNGE":
                    break;
                case "FETCH":
                    if (number == 0)
                    {
                        throw new ProtocolException($"FETCH of message 0: {raw}");
                    }
                    p.Expect((byte)' ');
                    r.Values.Add(p.Value(0));
                    break;
                default:
                    throw new ProtocolException($"an unknown numbered response: {raw}");
            }
        }
        else
        {
            r.Name = first;
            switch (first)
            {
                case "CAPABILITY" or "ENABLED" or "SEARCH":
                    while (p.TryTake(" "u8))
                    {
                        r.Values.Add(p.Atom());
                    }
                    break;
                case "FLAGS" or "LIST" or "LSUB" or "STATUS" or "ID" or "NAMESPACE" or "ESEARCH" or "VANISHED":
                    while (p.TryTake(" "u8))
                    {
                        r.Values.Add(p.Value(0));
                    }
                    break;
                default:
                    throw new ProtocolException($"an unknown untagged response: {raw}");
            }
        }
        p.End();
        return r;
    }

    /// <summary>resp-text: [" " ] ["[" resp-text-code "]" [" "]] text, to the end of the line.</summary>
    private static void StatusText(ref Cursor p, ImapResponse r)
    {
        if (!p.TryTake(" "u8))
        {
            // RFC 9051 allows an empty text after the status only with a space before it; be lenient here as
            // RFC 3501 servers send "OK" alone rarely; still the line must end.
            p.End();
            return;
        }
        if (p.TryTake("["u8))
        {
            var code = p.Rest();
            var close = code.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new ProtocolException($"a response code without its ]: {p.Raw}");
            }
            var inside = code[..close];
            var space = inside.IndexOf(' ', StringComparison.Ordinal);
            r.Code = space < 0 ? inside : inside[..space];
            r.CodeArguments = space < 0 ? "" : inside[(space + 1)..];
            r.Text = code[(close + 1)..].TrimStart();
            return;
        }
        r.Text = p.Rest();
    }

    private ref struct Cursor(byte[] data, string raw)
    {
        private readonly byte[] _data = data;
        private int _at;

        public readonly string Raw => raw;

        public bool TryTake(ReadOnlySpan<byte> what)
        {
            if (_data.AsSpan(_at).StartsWith(what))
            {
                _at += what.Length;
                return true;
            }
            return false;
        }

        public void Expect(byte b)
        {
            if (_at >= _data.Length || _data[_at] != b)
            {
                throw new ProtocolException($"expected '{(char)b}' at {_at}: {raw}");
            }
            _at++;
        }

        /// <summary>The rest of the line (up to CRLF), which must be the end of the response.</summary>
        public string Rest()
        {
            var end = _data.AsSpan(_at).IndexOf("\r\n"u8);
            if (end < 0 || _at + end + 2 != _data.Length)
            {
                throw new ProtocolException($"a status response with more than one line: {raw}");
            }
            var text = Encoding.UTF8.GetString(_data, _at, end);
            _at += end;
            return text;
        }

        public void End()
        {
            if (!_data.AsSpan(_at).SequenceEqual("\r\n"u8))
            {
                throw new ProtocolException($"unparsed text at {_at}: {raw}");
            }
        }

        /// <summary>An atom, with a section in brackets and a partial range (BODY[HEADER.FIELDS (A B)]&lt;0&gt;)
        /// kept whole.</summary>
        public string Atom()
        {
            var start = _at;
            while (_at < _data.Length)
            {
                var b = _data[_at];
                if (b == (byte)'[')
                {
                    var close = _data.AsSpan(_at).IndexOf((byte)']');
                    var newline = _data.AsSpan(_at).IndexOf((byte)'\r');
                    if (close < 0 || (newline >= 0 && newline < close))
                    {
                        throw new ProtocolException($"an unclosed [ at {_at}: {raw}");
                    }
                    _at += close + 1;
                    continue;
                }
                if (b is (byte)' ' or (byte)'(' or (byte)')' or (byte)'{' or (byte)'"' or (byte)'\r' or (byte)'\n' || b < 0x20 || b >= 0x7f)
                {
                    break;
                }
                _at++;
            }
            if (_at == start)
            {
                throw new ProtocolException($"expected an atom at {start}: {raw}");
            }
            return Encoding.ASCII.GetString(_data, start, _at - start);
        }

        public object Value(int depth)
        {
            if (depth > MaxDepth)
            {
                throw new ProtocolException($"lists nested more than {MaxDepth} deep: {raw}");
            }
            if (_at >= _data.Length)
            {
                throw new ProtocolException($"the response ended early: {raw}");
            }
            switch (_data[_at])
            {
                case (byte)'(':
                    {
                        _at++;
                        var list = new List<object>();
                        if (TryTake(")"u8))
                        {
                            return list;
                        }
                        while (true)
                        {
                            list.Add(Value(depth + 1));
                            if (TryTake(")"u8))
                            {
                                return list;
                            }
                            // The addresses of an envelope's address list follow each other without a space
                            // (RFC 9051: env-from = "(" 1*address ")" / nil).
                            if (_at < _data.Length && _data[_at] == (byte)'(' && list[^1] is List<object>)
                            {
                                continue;
                            }
                            Expect((byte)' ');
                        }
                    }
                case (byte)'"':
                    {
                        _at++;
                        var bytes = new List<byte>();
                        while (true)
                        {
                            if (_at >= _data.Length || _data[_at] is (byte)'\r' or (byte)'\n')
                            {
                                throw new ProtocolException($"an unclosed quoted string: {raw}");
                            }
                            var b = _data[_at++];
                            if (b == (byte)'"')
                            {
                                return new ImapString([.. bytes]);
                            }
                            if (b == (byte)'\\')
                            {
                                if (_at >= _data.Length || _data[_at] is not ((byte)'\\' or (byte)'"'))
                                {
                                    throw new ProtocolException($"a bad escape in a quoted string: {raw}");
                                }
                                b = _data[_at++];
                            }
                            bytes.Add(b);
                        }
                    }
                case (byte)'{' or (byte)'~':
                    {
                        TryTake("~"u8);
                        Expect((byte)'{');
                        var close = _data.AsSpan(_at).IndexOf((byte)'}');
                        if (close < 0 || !int.TryParse(_data.AsSpan(_at, close), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                        {
                            throw new ProtocolException($"a bad literal header: {raw}");
                        }
                        _at += close + 1;
                        if (!TryTake("\r\n"u8) || _at + length > _data.Length)
                        {
                            throw new ProtocolException($"a literal without its octets: {raw}");
                        }
                        var octets = _data.AsSpan(_at, length).ToArray();
                        _at += length;
                        return new ImapString(octets);
                    }
                default:
                    return Atom();
            }
        }
    }
}

/// <summary>The client's model of the selected mailbox: how many messages it has and the UIDs learned so far
/// (0 where not yet known), kept up to date from EXISTS and EXPUNGE; every untagged response is checked
/// against it (RFC 9051 section 7.4 and 7.5: EXISTS never shrinks the mailbox, EXPUNGE and FETCH name a
/// message that exists, UIDs ascend with the sequence numbers and never change).</summary>
internal sealed class MailboxModel
{
    private readonly List<long> _uids = [];

    public string Name { get; private set; } = "";

    public long UidValidity { get; set; }

    public int Count => _uids.Count;

    /// <summary>EXISTS or EXPUNGE since the last call of <see cref="TakeChanged"/>.</summary>
    public bool Changed { get; private set; }

    public IReadOnlyList<long> Uids => _uids;

    public void Reset(string name, long uidValidity)
    {
        Name = name;
        UidValidity = uidValidity;
        _uids.Clear();
        Changed = false;
    }

    public bool TakeChanged()
    {
        var changed = Changed;
        Changed = false;
        return changed;
    }

    /// <summary>The number of UIDs not known yet.</summary>
    public int Unknown() => _uids.Count(u => u == 0);

    /// <summary>How many messages from the first on have known UIDs (those announced later and not learned yet are the
    /// last ones: a new message has a higher UID than every message before it).</summary>
    public int Known()
    {
        var known = 0;
        while (known < _uids.Count && _uids[known] != 0)
        {
            known++;
        }
        return known;
    }

    /// <summary>The highest UID known, 0 if none.</summary>
    public long MaxKnownUid() => _uids.Count == 0 ? 0 : _uids.Max();

    public void Exists(long n)
    {
        if (n < _uids.Count)
        {
            throw new ProtocolException($"{Name}: EXISTS {n} below the {_uids.Count} messages known");
        }
        if (n > 1_000_000)
        {
            throw new ProtocolException($"{Name}: EXISTS {n}");
        }
        if (n > _uids.Count)
        {
            Changed = true;
        }
        while (_uids.Count < n)
        {
            _uids.Add(0);
        }
    }

    public void Expunge(long n)
    {
        if (n < 1 || n > _uids.Count)
        {
            throw new ProtocolException($"{Name}: EXPUNGE {n} of {_uids.Count} messages");
        }
        _uids.RemoveAt((int)n - 1);
        Changed = true;
    }

    /// <summary>A FETCH response for message n, with its UID if the response has one.</summary>
    public void Fetch(long n, long? uid)
    {
        if (n < 1 || n > _uids.Count)
        {
            throw new ProtocolException($"{Name}: FETCH of message {n}, {_uids.Count} known");
        }
        if (uid is not { } u)
        {
            return;
        }
        var i = (int)n - 1;
        if (u < 1)
        {
            throw new ProtocolException($"{Name}: message {n} has UID {u}");
        }
        if (_uids[i] != 0)
        {
            if (_uids[i] != u)
            {
                throw new ProtocolException($"{Name}: message {n} was UID {_uids[i]}, now UID {u}");
            }
            return;
        }
        for (var j = i - 1; j >= 0; j--)
        {
            if (_uids[j] != 0)
            {
                if (_uids[j] >= u)
                {
                    throw new ProtocolException($"{Name}: message {n} has UID {u}, message {j + 1} before it UID {_uids[j]}");
                }
                break;
            }
        }
        for (var j = i + 1; j < _uids.Count; j++)
        {
            if (_uids[j] != 0)
            {
                if (_uids[j] <= u)
                {
                    throw new ProtocolException($"{Name}: message {n} has UID {u}, message {j + 1} after it UID {_uids[j]}");
                }
                break;
            }
        }
        _uids[i] = u;
    }
}

/// <summary>The parts of a FETCH response's msg-att list.</summary>
internal static class FetchItems
{
    /// <summary>The items of a FETCH response as name -> value; the list must be pairs.</summary>
    public static Dictionary<string, object> Of(ImapResponse response)
    {
        if (response.Values is not [List<object> list] || list.Count % 2 != 0)
        {
            throw new ProtocolException($"a FETCH response that is not a list of pairs: {response.Raw}");
        }
        var items = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < list.Count; i += 2)
        {
            if (list[i] is not string name)
            {
                throw new ProtocolException($"a FETCH item name that is not an atom: {response.Raw}");
            }
            if (!items.TryAdd(name, list[i + 1]))
            {
                throw new ProtocolException($"FETCH item {name} twice: {response.Raw}");
            }
            Check(name, list[i + 1], response.Raw);
        }
        return items;
    }

    /// <summary>The UID of a FETCH response, if it has one.</summary>
    public static long? Uid(Dictionary<string, object> items, string raw) =>
        items.TryGetValue("UID", out var value)
            ? value is string s && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? uid
                : throw new ProtocolException($"a UID that is not a number: {raw}")
            : null;

    /// <summary>The shape of the items this load asks for (RFC 9051 section 7.5.2).</summary>
    private static void Check(string name, object value, string raw)
    {
        var ok = name.ToUpperInvariant() switch
        {
            "UID" or "RFC822.SIZE" => value is string s && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out _),
            "FLAGS" => value is List<object> flags && flags.All(f => f is string),
            "INTERNALDATE" => value is ImapString date && DateTimeOffset.TryParseExact(Encoding.ASCII.GetString(date.Octets).Trim(),
                "d-MMM-yyyy HH:mm:ss zzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            "ENVELOPE" => value is List<object> { Count: 10 } envelope && Envelope(envelope),
            "MODSEQ" => value is List<object> { Count: 1 },
            _ when name.StartsWith("BODY[", StringComparison.OrdinalIgnoreCase) => value is ImapString or "NIL",
            _ => true,
        };
        if (!ok)
        {
            throw new ProtocolException($"a malformed FETCH {name}: {raw}");
        }
    }

    /// <summary>env-date env-subject (nstring), then six address lists (list of 4-part addresses or NIL), then
    /// env-in-reply-to and env-message-id (nstring).</summary>
    private static bool Envelope(List<object> e)
    {
        static bool NString(object o) => o is ImapString or "NIL";
        static bool Addresses(object o) => o is "NIL" || (o is List<object> list && list.Count > 0
            && list.All(a => a is List<object> { Count: 4 } parts && parts.All(NString)));
        return NString(e[0]) && NString(e[1]) && e.Skip(2).Take(6).All(Addresses) && NString(e[8]) && NString(e[9]);
    }
}
