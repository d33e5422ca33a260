using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>The LIST wildcards of RFC 9051 §6.3.9 with the stores' "/" delimiter.</summary>
public class ListPatternTests
{
    [Theory]
    [InlineData("*", "INBOX", true)]
    [InlineData("*", "a/b/c", true)]
    [InlineData("%", "a", true)]
    [InlineData("%", "a/b", false)]
    [InlineData("%/%", "a/b", true)]
    [InlineData("%/%", "a/b/c", false)]
    [InlineData("a/*", "a/b/c", true)]
    [InlineData("a/*", "a", false)]
    [InlineData("a*", "a", true)]
    [InlineData("a%", "ab", true)]
    [InlineData("a%", "ab/c", false)]
    [InlineData("*c", "a/b/c", true)]
    [InlineData("%c", "a/b/c", false)]
    [InlineData("a%c", "abbbc", true)]
    [InlineData("a%c", "ab/c", false)]
    [InlineData("a*c", "ab/c", true)]
    [InlineData("*/%", "a/b/c", true)]
    [InlineData("%*%", "a/b", true)]
    [InlineData("Sent", "Sent", true)]
    [InlineData("sent", "Sent", false)]
    [InlineData("Sent", "Sent/x", false)]
    [InlineData("", "INBOX", false)]
    [InlineData("%", "", true)]
    [InlineData("\u00e9t\u00e9", "\u00e9t\u00e9", true)]
    public void Wildcards(string pattern, string name, bool matches) => Assert.Equal(matches, new ListPattern("", pattern, '/').Matches(name));

    [Theory]
    [InlineData("inbox", "INBOX", true)]
    [InlineData("InBoX", "INBOX", true)]
    [InlineData("inbox/%", "INBOX/Sub", true)]
    [InlineData("in%", "INBOX", true)]
    [InlineData("inbox/sub", "INBOX/Sub", false)]
    [InlineData("inboxes", "INBOXES", false)]
    [InlineData("inbox*", "INBOXES", false)]
    [InlineData("\u0131nbox", "INBOX", false)]
    public void Inbox_matches_in_any_case(string pattern, string name, bool matches) =>
        Assert.Equal(matches, new ListPattern("", pattern, '/').Matches(name));

    [Fact]
    public void Reference_is_a_prefix()
    {
        var pattern = new ListPattern("Archive/", "%", '/');
        Assert.Equal("Archive/%", pattern.Pattern);
        Assert.True(pattern.Matches("Archive/2024"));
        Assert.False(pattern.Matches("Archive/2024/01"));
        Assert.False(pattern.Matches("Other/2024"));
    }

    [Fact]
    public void Another_delimiter() => Assert.False(new ListPattern("", "%", '.').Matches("a.b"));

    [Theory]
    [InlineData("a**%b", "a*b")]
    [InlineData("%%", "%")]
    [InlineData("%*%x*", "*x*")]
    public void Runs_of_wildcards_reduce_to_one(string pattern, string reduced) => Assert.Equal(reduced, new ListPattern("", pattern, '/').Pattern);

    [Theory]
    [InlineData("a%%b", "ab", true)]
    [InlineData("a%%b", "a/b", false)]
    [InlineData("a%*b", "a/b", true)]
    [InlineData("abc", "ab", false)]
    public void Reduced_patterns_match_as_written(string pattern, string name, bool matches) =>
        Assert.Equal(matches, new ListPattern("", pattern, '/').Matches(name));

    [Fact]
    public void Many_wildcards_over_a_long_name_match_without_backtracking()
    {
        var pattern = new ListPattern("", string.Concat(Enumerable.Repeat("*a", 600)) + "b", '/');
        Assert.False(pattern.Matches(new string('a', 5000)));
        Assert.True(pattern.Matches(new string('a', 5000) + "b"));
    }
}
