using System.Collections.Immutable;
using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// The differential against Dovecot: for every corpus message and every FETCH item Dovecot was asked
/// (<see cref="DovecotCorpusFixture"/>), our writers' answer and Dovecot's compare equal after the normalisation the
/// RFCs allow (<see cref="FetchNormalizer"/>), or differ exactly as a documented difference says
/// (<see cref="DifferenceRule"/>, each in docs/imap.md with the RFC text that allows it, or a pending fix of ours).
/// </summary>
[Collection(DovecotCorpusCollection.Name)]
public sealed class DovecotDifferentialTests(DovecotCorpusFixture dovecot)
{
    public static TheoryData<string> MessageNames => [.. MimeCorpus.Messages.Select(m => m.Name)];

    private static readonly ImmutableHashSet<DifferenceRule> s_allRules = [.. Enum.GetValues<DifferenceRule>()];

    [Theory]
    [MemberData(nameof(MessageNames))]
    public async Task Our_fetch_data_equals_Dovecots_after_normalisation_and_documented_differences(string name)
    {
        var (differences, _) = await CompareAsync(name, s_allRules);
        Assert.True(differences.Count == 0, $"{name}: {differences.Count} difference(s) from Dovecot:\n" + string.Join("\n", differences));
    }

    // Each documented difference (and each pending fix) is still seen somewhere in the corpus: a rule that no longer
    // applies is removed, with its section of docs/imap.md, rather than left to forgive a future difference.
    [Fact]
    public async Task Every_documented_difference_is_still_needed()
    {
        var applied = new HashSet<DifferenceRule>();
        foreach (var message in MimeCorpus.Messages)
        {
            applied.UnionWith((await CompareAsync(message.Name, s_allRules)).Applied);
        }
        Assert.Empty(s_allRules.Except(applied));
    }

    // Without the documented differences, the comparison does find them: the rules are what makes the test pass.
    [Fact]
    public async Task Without_the_documented_differences_the_comparison_fails()
    {
        var (differences, applied) = await CompareAsync("04-rfc2231-parameters", []);
        Assert.Empty(applied);
        Assert.Contains(differences, d => d.Contains("BODYSTRUCTURE", StringComparison.Ordinal));
    }

    private async Task<(List<string> Differences, HashSet<DifferenceRule> Applied)> CompareAsync(string name, ImmutableHashSet<DifferenceRule> rules)
    {
        var message = MimeCorpus.Get(name);
        var number = (uint)MimeCorpus.Messages.ToList().IndexOf(message) + 1;
        MessageSummary summary;
        using (var stream = new MemoryStream(message.Content, writable: false))
        {
            summary = MessageSummaryParser.Parse(stream);
        }
        var documented = new DocumentedDifferences(message.Content, summary, rules);
        var differences = new List<string>();
        foreach (var captured in dovecot.FetchesOf(name))
        {
            var ours = await OurFetch.RenderAsync(message, number, captured.Item);
            if (Compare(captured, ours, documented) is { } difference)
            {
                differences.Add(difference.Describe(captured.Item));
            }
        }
        return (differences, documented.Applied);
    }

    /// <summary>Null when both answers are the same after normalisation and the documented differences; else the two canonical forms.</summary>
    internal static FetchDifference? Compare(CapturedFetch dovecot, byte[]? ours, DocumentedDifferences documented)
    {
        if (dovecot.Exchange.Status != "OK" || ours is null)
        {
            var theirs = dovecot.Exchange.Status == "OK" ? "OK" : dovecot.Exchange.TaggedText;
            var ourStatus = ours is null ? "NO [UNKNOWN-CTE]" : "OK";
            return dovecot.Exchange.Status == (ours is null ? "NO" : "OK") ? null : new FetchDifference(theirs, ourStatus);
        }
        return Compare(dovecot, ImapResponseParser.ParseFetch(ours), documented);
    }

    /// <summary>
    /// Null when Dovecot's OK answer and our FETCH response (parsed; any subset of a longer response's items) are the
    /// same after normalisation and the documented differences; else the two canonical forms.
    /// </summary>
    internal static FetchDifference? Compare(CapturedFetch dovecot, FetchResponse ourResponse, DocumentedDifferences documented)
    {
        var fetches = dovecot.Exchange.Untagged.Where(r => r.AsSpan().IndexOf(" FETCH "u8) > 0).ToList();
        if (fetches.Count != 1)
        {
            return new FetchDifference($"{fetches.Count} FETCH responses", "1 FETCH response");
        }
        var theirResponse = ImapResponseParser.ParseFetch(fetches[0]);
        if (theirResponse.Number != ourResponse.Number)
        {
            return new FetchDifference($"message {theirResponse.Number}", $"message {ourResponse.Number}");
        }
        var theirItems = FetchNormalizer.NormalizeValues(theirResponse);
        var ourItems = FetchNormalizer.NormalizeValues(ourResponse);
        var theirText = new StringBuilder();
        var ourText = new StringBuilder();
        foreach (var key in theirItems.Keys.Union(ourItems.Keys).Order(StringComparer.Ordinal))
        {
            var theirValue = theirItems.GetValueOrDefault(key);
            var ourValue = ourItems.GetValueOrDefault(key);
            if (theirValue is not null && ourValue is not null)
            {
                theirValue = documented.Reconcile(key, theirValue, ourValue);
            }
            var theirCanonical = theirValue is null ? "(absent)" : FetchNormalizer.Canonical(theirValue);
            var ourCanonical = ourValue is null ? "(absent)" : FetchNormalizer.Canonical(ourValue);
            if (theirCanonical != ourCanonical)
            {
                theirText.Append(key).Append(' ').Append(theirCanonical);
                ourText.Append(key).Append(' ').Append(ourCanonical);
            }
        }
        return theirText.Length == 0 ? null : new FetchDifference(theirText.ToString(), ourText.ToString());
    }
}

/// <summary>Dovecot's and our canonical answers where they differ.</summary>
internal sealed record FetchDifference(string Dovecot, string Ours)
{
    public string Describe(string item) => $"  {item}\n    dovecot: {Dovecot}\n    ours:    {Ours}";
}
