using System.Globalization;
using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>The test classes that read Dovecot's answers over the corpus share one capture (one Dovecot, started once).</summary>
[CollectionDefinition(Name)]
public sealed class DovecotCorpusCollection : ICollectionFixture<DovecotCorpusFixture>
{
    public const string Name = "Dovecot corpus";
}

/// <summary>A FETCH as asked of Dovecot and its answer, byte for byte.</summary>
/// <param name="Message">The corpus message.</param>
/// <param name="Item">The fetch-att asked for, for example <c>BODY.PEEK[1.MIME]</c>.</param>
/// <param name="Exchange">The untagged responses and the tagged one.</param>
internal sealed record CapturedFetch(string Message, string Item, ImapExchange Exchange);

/// <summary>A SEARCH as asked of Dovecot (its pieces: literals are <c>{n+}</c>) and the corpus messages it found.</summary>
internal sealed record CapturedSearch(string Command, IReadOnlyList<byte[]> Pieces, ImapExchange Exchange, IReadOnlyList<string> Found);

/// <summary>
/// Dovecot's answers over the MIME corpus, captured once for the test classes of <see cref="DovecotCorpusCollection"/>: the shared <see cref="DovecotFixture"/>
/// is started, every <see cref="MimeCorpus"/> message is APPENDed to one user's INBOX over a raw socket (so the n-th
/// message has sequence number n), and for each message the FETCH items of <see cref="ItemsFor"/> are asked one per
/// command and kept as the exact octets Dovecot sent; then the <see cref="Searches"/> are run over the whole INBOX.
/// </summary>
public sealed class DovecotCorpusFixture : IAsyncLifetime
{
    private readonly DovecotFixture _dovecot = new();
    private readonly Dictionary<string, List<CapturedFetch>> _fetches = [];
    private readonly List<CapturedSearch> _searches = [];

    /// <summary>The SEARCH commands run over the corpus, each with the messages a correct server finds (RFC 9051 §6.4.4).</summary>
    internal static IReadOnlyList<(string Command, IReadOnlyList<byte[]> Pieces, string[] Expected)> Searches { get; } =
    [
        Search("HEADER X-Corpus-Tag nested", ["01-nested-mixed-alternative-related", "21-related-alternative-empty-part"]),
        Search("HEADER X-Corpus-Tag \"\"", ["01-nested-mixed-alternative-related", "11-utf8-headers", "13-folded-headers", "21-related-alternative-empty-part"]),
        Search("NOT HEADER Message-ID \"\"", ["12-missing-headers"]),
        // "Café" is in an RFC 2047 encoded word of the Subject; SUBJECT compares with the decoded text.
        Search("CHARSET UTF-8 SUBJECT {Café}", ["03-encoded-words"]),
        // Raw UTF-8 in a Subject (RFC 6532).
        Search("CHARSET UTF-8 SUBJECT {会議}", ["11-utf8-headers"]),
        // "Zanzibar" is only in the base64 text part: BODY searches the decoded content.
        Search("BODY Zanzibar", ["15-base64-and-quoted-printable"]),
        Search("TEXT baobab", ["15-base64-and-quoted-printable"]),
        // The Subject says "midi" too, but BODY is the body only.
        Search("BODY midi", ["03-encoded-words"]),
        // A display name, plain and in an encoded word.
        Search("FROM \"Grace Hopper\"", ["02-forwarded-rfc822-multipart"]),
        Search("CHARSET UTF-8 FROM {Renée}", ["03-encoded-words"]),
        Search("LARGER 1000000", [MimeCorpus.LargeAttachmentName]),
        // The Date header, not the internal date; its day whatever the time and zone.
        Search("SENTON 17-Nov-2026", ["17-header-only"]),
        Search("SENTSINCE 20-Nov-2026", ["20-sender-replyto-quoted-local", "21-related-alternative-empty-part", MimeCorpus.LargeAttachmentName]),
        // Case-insensitive; the message has no body at all.
        Search("SUBJECT \"no BLANK line\"", ["17-header-only"]),
        // A member of a group in Cc; and a Cc that only an embedded message/rfc822 has, which is not the message's.
        Search("CC carol@example.net", ["05-group-addresses"]),
        Search("CC log-keeper", []),
        // TEXT is the header and the body: the subjects of a digest's messages are in its body.
        Search("OR TEXT \"Digest item two\" BODY Zanzibar", ["15-base64-and-quoted-printable", "19-multipart-digest"]),
        Search("HEADER Content-Type digest", ["19-multipart-digest"]),
        // A Latin-1 Subject ("r\xE9sum\xE9") is not the UTF-8 "résumé" asked for.
        Search("CHARSET UTF-8 SUBJECT {résumé}", []),
        // TEXT has "the header (including MIME header fields)": an embedded message's header and a part's MIME header
        // (Content-Description) are TEXT, not BODY; boundary lines are neither.
        Search("TEXT log-keeper", ["02-forwarded-rfc822-multipart"]),
        Search("BODY log-keeper", []),
        Search("TEXT \"the original report\"", ["02-forwarded-rfc822-multipart"]),
        Search("BODY \"the original report\"", []),
        Search("BODY \"Digest item two\"", []),
        Search("BODY rel-CCC", []),
        // A digest's part without Content-Type is a message/rfc822 (RFC 2046 §5.1.5) whose text is BODY.
        Search("BODY \"Item one has no\"", ["19-multipart-digest"]),
    ];

    /// <summary>Dovecot's version line, for failure messages.</summary>
    internal string Greeting { get; private set; } = "";

    /// <summary>Every captured FETCH of the message called <paramref name="name"/>.</summary>
    internal IReadOnlyList<CapturedFetch> FetchesOf(string name) => _fetches[name];

    /// <summary>The captured FETCH of <paramref name="item"/> for <paramref name="name"/>.</summary>
    internal CapturedFetch Fetch(string name, string item) =>
        _fetches[name].SingleOrDefault(f => f.Item == item) ?? throw new ArgumentException($"{item} was not fetched for {name}.", nameof(item));

    /// <summary>The captured SEARCH commands, in the order of <see cref="Searches"/>.</summary>
    internal IReadOnlyList<CapturedSearch> SearchResults => _searches;

    /// <summary>Dovecot's log, for failure messages.</summary>
    internal string ReadLog() => _dovecot.ReadLog();

    /// <summary>
    /// The FETCH items asked for a message whose BODYSTRUCTURE (as Dovecot gave it) is <paramref name="structure"/>:
    /// the message-level items and sections, part 1 and a part 9 that does not exist always; part 2 and the parts
    /// below 1 and 2 only where they exist, and HEADER, TEXT and HEADER.FIELDS after a part number only where that
    /// part is a message/rfc822 (RFC 9051 §6.4.5).
    /// </summary>
    internal static IReadOnlyList<string> ItemsFor(ImapValue structure)
    {
        var items = new List<string>
        {
            "ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.SIZE",
            "BODY.PEEK[]<0.100>", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[TEXT]<5.20>", "BODY.PEEK[TEXT]<100000000.10>",
            "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "BODY.PEEK[HEADER.FIELDS.NOT (DATE)]",
            "BODY.PEEK[1]", "BODY.PEEK[1]<0.100>", "BODY.PEEK[1.MIME]", "BINARY.PEEK[1]", "BINARY.PEEK[1]<0.10>", "BINARY.SIZE[1]",
            "RFC822.HEADER",
            // A part no message of the corpus has.
            "BODY.PEEK[9]", "BODY.PEEK[9.MIME]", "BINARY.PEEK[9]", "BINARY.SIZE[9]",
        };
        var parts = BodyShape.PartsOf(structure);
        foreach (var (number, part) in parts.Take(2).Select((p, i) => ((i + 1).ToString(CultureInfo.InvariantCulture), p)))
        {
            if (number == "2")
            {
                items.AddRange(["BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BINARY.PEEK[2]", "BINARY.SIZE[2]"]);
            }
            if (BodyShape.IsMessage(part))
            {
                items.AddRange([$"BODY.PEEK[{number}.HEADER]", $"BODY.PEEK[{number}.TEXT]", $"BODY.PEEK[{number}.HEADER.FIELDS (FROM SUBJECT)]"]);
            }
            if (BodyShape.IsMultipart(part) || BodyShape.IsMessage(part))
            {
                items.Add($"BODY.PEEK[{number}.1]");
            }
        }
        return items;
    }

    public async Task InitializeAsync()
    {
        await _dovecot.InitializeAsync();
        try
        {
            await CaptureAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"Capturing Dovecot's answers failed: {ex.Message}\nDovecot's log:\n{_dovecot.ReadLog()}", ex);
        }
    }

    public Task DisposeAsync() => _dovecot.DisposeAsync();

    private async Task CaptureAsync()
    {
        var ct = CancellationToken.None;
        var user = _dovecot.ClaimUser();
        await using var client = await RawImapClient.ConnectAsync(_dovecot.EndPoint, ct);
        Greeting = Encoding.Latin1.GetString(client.Greeting).TrimEnd();
        Ok(await client.CommandAsync($"LOGIN \"{user.Login}\" \"{user.Password}\"", ct), "LOGIN");
        var messages = MimeCorpus.Messages;
        foreach (var message in messages)
        {
            Ok(await client.AppendAsync("INBOX", message.Content, ct), $"APPEND of {message.Name}");
        }
        Ok(await client.CommandAsync("SELECT INBOX", ct), "SELECT");
        for (var i = 0; i < messages.Count; i++)
        {
            var number = (i + 1).ToString(CultureInfo.InvariantCulture);
            var structure = await client.CommandAsync($"FETCH {number} (BODYSTRUCTURE)", ct);
            Ok(structure, $"FETCH BODYSTRUCTURE of {messages[i].Name}");
            var parsed = ImapResponseParser.ParseFetch(structure.Untagged.Single());
            var captured = new List<CapturedFetch>();
            foreach (var item in ItemsFor(parsed.Items.Single().Value))
            {
                captured.Add(new CapturedFetch(messages[i].Name, item, await client.CommandAsync($"FETCH {number} ({item})", ct)));
            }
            _fetches[messages[i].Name] = captured;
        }
        foreach (var (command, pieces, _) in Searches)
        {
            var exchange = await client.SendAsync(pieces, ct);
            Ok(exchange, $"SEARCH {command}");
            var numbers = exchange.Untagged.Where(r => r.AsSpan().StartsWith("* SEARCH"u8)).SelectMany(r => ImapResponseParser.ParseSearch(r)).ToList();
            _searches.Add(new CapturedSearch(command, pieces, exchange, [.. numbers.Order().Select(n => messages[(int)n - 1].Name)]));
        }
        await client.CommandAsync("LOGOUT", ct);
    }

    private static void Ok(ImapExchange exchange, string what)
    {
        if (exchange.Status != "OK")
        {
            throw new InvalidOperationException($"{what}: {exchange.TaggedText}");
        }
    }

    // "SEARCH ..." where {text} is sent as a non-synchronizing literal of text's UTF-8 octets.
    private static (string, IReadOnlyList<byte[]>, string[]) Search(string criteria, string[] expected)
    {
        var pieces = new List<byte[]>();
        var current = new StringBuilder("SEARCH ");
        for (var i = 0; i < criteria.Length; i++)
        {
            if (criteria[i] == '{')
            {
                var close = criteria.IndexOf('}', i);
                var literal = Encoding.UTF8.GetBytes(criteria[(i + 1)..close]);
                current.Append(CultureInfo.InvariantCulture, $"{{{literal.Length}+}}");
                pieces.Add(Encoding.UTF8.GetBytes(current.ToString()));
                pieces.Add(literal);
                current.Clear();
                i = close;
                continue;
            }
            current.Append(criteria[i]);
        }
        pieces.Add(Encoding.UTF8.GetBytes(current.ToString()));
        return (criteria, pieces, expected);
    }
}

/// <summary>The shape of a BODYSTRUCTURE value (RFC 9051 §9 body), enough to know which sections exist.</summary>
internal static class BodyShape
{
    public static bool IsMultipart(ImapValue body) => body is ImapList { Items: [ImapList, ..] };

    public static bool IsMessage(ImapValue body) =>
        body is ImapList { Items: [ImapString type, ImapString subtype, ..] }
        && Text(type).Equals("message", StringComparison.OrdinalIgnoreCase)
        && Text(subtype) is var s && (s.Equals("rfc822", StringComparison.OrdinalIgnoreCase) || s.Equals("global", StringComparison.OrdinalIgnoreCase));

    /// <summary>The numbered parts below a body: a multipart's children, a message/rfc822's embedded body as part 1, or the body itself as part 1.</summary>
    public static IReadOnlyList<ImapValue> PartsOf(ImapValue body) =>
        IsMultipart(body) ? [.. ((ImapList)body).Items.TakeWhile(i => i is ImapList)] : [body];

    private static string Text(ImapString s) => Encoding.Latin1.GetString(s.Octets.AsSpan());
}
