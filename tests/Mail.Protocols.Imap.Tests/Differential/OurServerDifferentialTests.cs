using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Mail.Protocols.Imap.Tests.Interop;
using Mail.Protocols.Hosting;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// Our real server's answers over the MIME corpus, captured the way <see cref="DovecotCorpusFixture"/> captures
/// Dovecot's: a <see cref="MailHost"/> with IMAP on a free loopback port (plaintext LOGIN allowed), every corpus
/// message APPENDed over a raw socket to alice's INBOX in corpus order (so the n-th message has sequence number n, as in
/// Dovecot), then the SEARCH commands of <see cref="DovecotCorpusFixture.Searches"/> (as SEARCH and as UID SEARCH)
/// and FETCH commands, all through the session, its batching and the store.
/// </summary>
public sealed class OurServerCorpusFixture : IAsyncLifetime
{
    /// <summary>The items fetched one per command for every message, as Dovecot was asked them.</summary>
    internal static readonly string[] FetchItems = ["ENVELOPE", "BODYSTRUCTURE", "BODY.PEEK[1.MIME]", "BINARY.PEEK[1]"];

    /// <summary>The items fetched for all messages in one command.</summary>
    internal const string CombinedItems = "ENVELOPE BODYSTRUCTURE";

    private readonly Dictionary<(string Message, string Item), ImapExchange> _fetches = [];
    private readonly List<ImapExchange> _searches = [];
    private readonly List<ImapExchange> _uidSearches = [];
    private ImapInteropHost? _host;

    /// <summary>UID of each corpus message by name, from <c>UID FETCH 1:* (UID RFC822.SIZE)</c>.</summary>
    internal IReadOnlyDictionary<string, uint> Uids { get; private set; } = ImmutableDictionary<string, uint>.Empty;

    /// <summary>RFC822.SIZE of each corpus message by name.</summary>
    internal IReadOnlyDictionary<string, long> Sizes { get; private set; } = ImmutableDictionary<string, long>.Empty;

    /// <summary>The answers to <see cref="DovecotCorpusFixture.Searches"/>, in order.</summary>
    internal IReadOnlyList<ImapExchange> Searches => _searches;

    /// <summary>The answers to the same searches as UID SEARCH.</summary>
    internal IReadOnlyList<ImapExchange> UidSearches => _uidSearches;

    /// <summary>The answer to <c>FETCH 1:* (</c><see cref="CombinedItems"/><c>)</c>.</summary>
    internal ImapExchange CombinedFetch { get; private set; } = new([], []);

    /// <summary>Our answer to <c>FETCH n (item)</c> for the corpus message called <paramref name="name"/>.</summary>
    internal ImapExchange Fetch(string name, string item) => _fetches[(name, item)];

    public async Task InitializeAsync()
    {
        _host = await ImapInteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        var ct = CancellationToken.None;
        var messages = MimeCorpus.Messages;
        await using var client = await RawImapClient.ConnectAsync(_host.Imap, ct);
        Ok(await client.CommandAsync($"LOGIN \"{ImapInteropHost.Alice}\" \"{ImapInteropHost.AlicePassword}\"", ct), "LOGIN");
        foreach (var message in messages)
        {
            Ok(await client.AppendAsync("INBOX", message.Content, ct), $"APPEND of {message.Name}");
        }
        Ok(await client.CommandAsync("SELECT INBOX", ct), "SELECT");

        var listing = await client.CommandAsync("UID FETCH 1:* (UID RFC822.SIZE)", ct);
        Ok(listing, "UID FETCH 1:* (UID RFC822.SIZE)");
        var uids = new Dictionary<string, uint>();
        var sizes = new Dictionary<string, long>();
        foreach (var response in listing.Untagged.Where(r => r.AsSpan().IndexOf(" FETCH "u8) > 0))
        {
            var fetch = ImapResponseParser.ParseFetch(response);
            var name = messages[(int)fetch.Number - 1].Name;
            var items = FetchNormalizer.Normalize(fetch);
            uids[name] = uint.Parse(items["UID"], CultureInfo.InvariantCulture);
            sizes[name] = long.Parse(items["RFC822.SIZE"], CultureInfo.InvariantCulture);
        }
        Uids = uids;
        Sizes = sizes;

        foreach (var (_, pieces, _) in DovecotCorpusFixture.Searches)
        {
            _searches.Add(await client.SendAsync(pieces, ct));
            var uidPieces = pieces.ToList();
            uidPieces[0] = [.. "UID "u8, .. pieces[0]];
            _uidSearches.Add(await client.SendAsync(uidPieces, ct));
        }
        for (var i = 0; i < messages.Count; i++)
        {
            foreach (var item in FetchItems)
            {
                _fetches[(messages[i].Name, item)] = await client.CommandAsync($"FETCH {i + 1} ({item})", ct);
            }
        }
        CombinedFetch = await client.CommandAsync($"FETCH 1:* ({CombinedItems})", ct);
        await client.CommandAsync("LOGOUT", ct);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private static void Ok(ImapExchange exchange, string what)
    {
        if (exchange.Status != "OK")
        {
            throw new InvalidOperationException($"{what}: {exchange.TaggedText}");
        }
    }
}

/// <summary>
/// The differential through our whole server: the SEARCH commands Dovecot answered find the same messages (the same
/// sequence numbers, and UIDs of the same messages) on ours, and ENVELOPE, BODYSTRUCTURE, BODY[1.MIME] and BINARY[1]
/// of every message, asked one per command and (ENVELOPE, BODYSTRUCTURE) for all messages in one command, equal
/// Dovecot's after the normalisation and the documented differences of <see cref="DovecotDifferentialTests"/>.
/// </summary>
[Collection(DovecotCorpusCollection.Name)]
public sealed class OurServerDifferentialTests(DovecotCorpusFixture dovecot, OurServerCorpusFixture ours) : IClassFixture<OurServerCorpusFixture>
{
    private static readonly ImmutableHashSet<DifferenceRule> s_allRules = [.. Enum.GetValues<DifferenceRule>()];

    public static TheoryData<int> SearchIndexes => [.. Enumerable.Range(0, DovecotCorpusFixture.Searches.Count)];

    public static TheoryData<string> MessageNames => [.. MimeCorpus.Messages.Select(m => m.Name)];

    [Fact]
    public void Our_server_stored_every_message_with_its_size_and_a_uid_each()
    {
        foreach (var message in MimeCorpus.Messages)
        {
            Assert.Equal(message.Content.Length, ours.Sizes[message.Name]);
        }
        Assert.Equal(MimeCorpus.Messages.Count, ours.Uids.Values.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(SearchIndexes))]
    public void Our_search_finds_the_messages_Dovecots_finds(int index)
    {
        var (command, _, expected) = DovecotCorpusFixture.Searches[index];
        var theirs = Numbers(dovecot.SearchResults[index].Exchange);
        var exchange = ours.Searches[index];
        Assert.True(exchange.Status == "OK", $"SEARCH {command}: {exchange.TaggedText}");
        Assert.Equal(theirs, Numbers(exchange));
        Assert.Equal(expected, Numbers(exchange).Select(n => MimeCorpus.Messages[(int)n - 1].Name));
    }

    [Theory]
    [MemberData(nameof(SearchIndexes))]
    public void Our_uid_search_finds_the_uids_of_the_messages_Dovecots_finds(int index)
    {
        var (command, _, _) = DovecotCorpusFixture.Searches[index];
        var exchange = ours.UidSearches[index];
        Assert.True(exchange.Status == "OK", $"UID SEARCH {command}: {exchange.TaggedText}");
        var found = dovecot.SearchResults[index].Found;
        Assert.Equal(found.Select(name => ours.Uids[name]).Order(), Numbers(exchange));
    }

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void Our_servers_fetch_answers_equal_Dovecots_after_normalisation_and_documented_differences(string name)
    {
        var documented = Documented(name);
        var differences = new List<string>();
        foreach (var item in OurServerCorpusFixture.FetchItems)
        {
            var captured = dovecot.Fetch(name, item);
            var exchange = ours.Fetch(name, item);
            if (captured.Exchange.Status != exchange.Status)
            {
                differences.Add(new FetchDifference(captured.Exchange.TaggedText, exchange.TaggedText).Describe(item));
                continue;
            }
            if (exchange.Status != "OK")
            {
                continue;
            }
            var fetches = exchange.Untagged.Where(r => r.AsSpan().IndexOf(" FETCH "u8) > 0).ToList();
            if (fetches.Count != 1)
            {
                differences.Add($"  {item}: {fetches.Count} FETCH responses from our server");
                continue;
            }
            if (DovecotDifferentialTests.Compare(captured, ImapResponseParser.ParseFetch(fetches[0]), documented) is { } difference)
            {
                differences.Add(difference.Describe(item));
            }
        }
        Assert.True(differences.Count == 0, $"{name}: {differences.Count} difference(s) from Dovecot:\n" + string.Join("\n", differences));
    }

    // One FETCH of every message: the session's batches of summaries, each response cut into its items, each item
    // compared with Dovecot's answer to that item alone.
    [Fact]
    public void Our_servers_fetch_of_all_messages_at_once_equals_Dovecots_item_by_item()
    {
        var exchange = ours.CombinedFetch;
        Assert.True(exchange.Status == "OK", exchange.TaggedText);
        var responses = exchange.Untagged.Where(r => r.AsSpan().IndexOf(" FETCH "u8) > 0).Select(r => ImapResponseParser.ParseFetch(r)).ToList();
        Assert.Equal(Enumerable.Range(1, MimeCorpus.Messages.Count).Select(n => (uint)n), responses.Select(r => r.Number));
        var differences = new List<string>();
        foreach (var response in responses)
        {
            var name = MimeCorpus.Messages[(int)response.Number - 1].Name;
            var documented = Documented(name);
            Assert.Equal(OurServerCorpusFixture.CombinedItems.Split(' '), response.Items.Select(i => i.Key.ToUpperInvariant()));
            foreach (var item in response.Items)
            {
                var single = new FetchResponse(response.Number, [item]);
                if (DovecotDifferentialTests.Compare(dovecot.Fetch(name, item.Key.ToUpperInvariant()), single, documented) is { } difference)
                {
                    differences.Add($"{name}\n" + difference.Describe(item.Key));
                }
            }
        }
        Assert.True(differences.Count == 0, $"{differences.Count} difference(s) from Dovecot:\n" + string.Join("\n", differences));
    }

    private static DocumentedDifferences Documented(string name)
    {
        var message = MimeCorpus.Get(name);
        using var stream = new MemoryStream(message.Content, writable: false);
        return new DocumentedDifferences(message.Content, MessageSummaryParser.Parse(stream), s_allRules);
    }

    private static List<uint> Numbers(ImapExchange exchange) =>
        [.. exchange.Untagged.Where(r => r.AsSpan().StartsWith("* SEARCH"u8)).SelectMany(r => ImapResponseParser.ParseSearch(r)).Order()];
}
