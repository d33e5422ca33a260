using Mail.Protocols.Addressing;
using Mail.Protocols.InMemory;

namespace Mail.Protocols.Tests;

/// <summary>Reading Postfix's virtual alias table format: what a good file gives, and each kind of bad line.</summary>
public sealed class VirtualAliasFileTests
{
    private static InMemoryAddressBook Read(string text, VirtualAliasFileLimits? limits = null) =>
        VirtualAliasFile.Read(new StringReader(text), new InMemoryAddressBook(), "aliases", limits);

    private static async Task<string[]> TargetsAsync(InMemoryAddressBook book, string address) =>
        (await book.FindAsync(address))?.Targets.ToArray() ?? ["(no entry)"];

    [Fact]
    public async Task A_good_file_gives_aliases_catch_alls_and_continued_lines()
    {
        var book = Read(
            "# the sales team\n" +
            "sales@example.test   alice@example.test, bob@example.test\r\n" +
            "\n" +
            "   \t\n" +
            "   # an indented comment is a comment, not a continuation\n" +
            "team@example.test alice@example.test,\n" +
            "    carol@other.test\n" +
            "\tpartner@remote.example\n" +
            "example.test anything\n" +            // Postfix's virtual alias domain line: skipped
            "@example.test postmaster@example.test\n" +
            "Info@Example.Test alice@example.test"); // no final line end
        Assert.Equal(4, book.Count);
        Assert.Equal(["alice@example.test", "bob@example.test"], await TargetsAsync(book, "sales@example.test"));
        Assert.Equal(["alice@example.test", "carol@other.test", "partner@remote.example"], await TargetsAsync(book, "TEAM@example.test"));
        Assert.Equal(["postmaster@example.test"], await TargetsAsync(book, "@EXAMPLE.test"));
        Assert.Equal(["alice@example.test"], await TargetsAsync(book, "info@example.test"));
        Assert.Equal(AddressEntryKind.Alias, (await book.FindAsync("sales@example.test"))!.Kind);
        Assert.Null(await book.FindAsync("example.test"));
    }

    [Theory]
    [InlineData("  alice@example.test\nsales@example.test bob@example.test\n", 1, "continuation line with no line before it")]
    [InlineData("# ok\nsales@example.test\n", 2, "'sales@example.test' has no target")]
    [InlineData("sales@example.test bob@example.test\nsales bob@example.test\n", 2, "'sales' is no address")]
    [InlineData("sales@ bob@example.test\n", 1, "'sales@' is no address")]
    [InlineData("a@b@example.test bob@example.test\n", 1, "'a@b@example.test' is no address")]
    [InlineData("sales@example.test bob\n", 1, "full address")]
    [InlineData("sales@example.test bob@example.test\n\nSALES@example.test carol@example.test\n", 3, "'SALES@example.test' is listed twice")]
    [InlineData("ok@example.test bob@example.test\n@ bob@example.test\n", 2, "'@' is no address")]
    public void A_bad_line_is_reported_with_its_line_number(string text, int line, string message)
    {
        var error = Assert.Throws<FormatException>(() => Read(text));
        Assert.StartsWith($"aliases line {line}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_may_be_as_long_as_the_limit_and_one_character_more_is_refused_before_it_is_held()
    {
        var limits = new VirtualAliasFileLimits { MaxLineLength = 40 };
        var exact = "a@example.test " + new string('b', 40 - 15 - 13) + "@example.test"; // 40 characters
        Assert.Equal(40, exact.Length);
        Assert.Equal(1, Read(exact + "\r\n", limits).Count);
        var error = Assert.Throws<FormatException>(() => Read("# fine\n" + exact + "x\n", limits));
        Assert.StartsWith("aliases line 2: the line is longer than 40 characters", error.Message, StringComparison.Ordinal);
        // A line without any line end is refused once it passes the limit, not read to its end.
        var endless = new EndlessReader();
        Assert.Throws<FormatException>(() => VirtualAliasFile.Read(endless, new InMemoryAddressBook(), "aliases", limits));
        Assert.True(endless.Read_ < 100, $"read {endless.Read_} characters");
        // Continuation lines count towards the entry's length.
        var continued = Assert.Throws<FormatException>(() => Read("a@example.test b@example.test\n c@example.test\n d@example.test\n", limits));
        Assert.StartsWith("aliases line 1: the entry is longer than 40 characters", continued.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_and_targets_per_entry_are_bounded()
    {
        var limits = new VirtualAliasFileLimits { MaxEntries = 2, MaxTargetsPerEntry = 2 };
        Assert.Equal(2, Read("a@x.test b@x.test, c@x.test\nd@x.test e@x.test\n", limits).Count);
        var entries = Assert.Throws<FormatException>(() => Read("a@x.test b@x.test\nd@x.test e@x.test\nf@x.test g@x.test\n", limits));
        Assert.StartsWith("aliases line 3: more than 2 entries", entries.Message, StringComparison.Ordinal);
        var targets = Assert.Throws<FormatException>(() => Read("a@x.test b@x.test c@x.test,d@x.test\n", limits));
        Assert.StartsWith("aliases line 1: 'a@x.test' has more than 2 targets", targets.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_reads_a_file_into_a_book_and_replaces_entries_of_the_same_address()
    {
        var path = Path.Combine(Path.GetTempPath(), $"virtual-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(path, "sales@example.test bob@example.test\n");
        try
        {
            var book = new InMemoryAddressBook();
            book.AddAlias("sales@example.test", "alice@example.test");
            book.AddAlias("info@example.test", "alice@example.test");
            Assert.Same(book, VirtualAliasFile.Load(path, book));
            Assert.Equal(["bob@example.test"], await TargetsAsync(book, "sales@example.test"));
            Assert.Equal(["alice@example.test"], await TargetsAsync(book, "info@example.test"));
            Assert.Equal(1, VirtualAliasFile.Load(path).Count);
            var error = Assert.Throws<FormatException>(() => VirtualAliasFile.Load(path, limits: new VirtualAliasFileLimits { MaxLineLength = 10 }));
            Assert.StartsWith(Path.GetFileName(path) + " line 1: ", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class EndlessReader : TextReader
    {
        public int Read_ { get; private set; }

        public override int Read()
        {
            Read_++;
            return 'x';
        }
    }
}
