using System.Buffers;
using System.Text;
using Mail.Protocols.Imap.Search;

namespace Mail.Protocols.Imap.Tests.Search;

/// <summary>The SEARCH and ESEARCH response writers on their own: exact octets, edge numbers, small buffers.</summary>
public sealed class SearchResponseWriterTests
{
    private static string Write(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return Encoding.ASCII.GetString(output.WrittenSpan);
    }

    private static SearchResult Result(params uint[] numbers) =>
        new(numbers, numbers.Select(n => n * 10).ToArray(), highestModSeq: 99, firstModSeq: 5, lastModSeq: 7);

    [Theory]
    [InlineData(new uint[0], "")]
    [InlineData(new uint[] { 1 }, "1")]
    [InlineData(new uint[] { 1, 2 }, "1:2")]
    [InlineData(new uint[] { 1, 3 }, "1,3")]
    [InlineData(new uint[] { 2, 3, 5, 6, 7, 9 }, "2:3,5:7,9")]
    [InlineData(new uint[] { 4294967294, 4294967295 }, "4294967294:4294967295")]
    [InlineData(new uint[] { 1, 4294967295 }, "1,4294967295")]
    public void Sequence_sets_are_compacted(uint[] numbers, string expected) =>
        Assert.Equal(expected, Write(w => SearchResponseWriter.WriteSequenceSet(w, numbers)));

    [Fact]
    public void Search_writes_each_number_and_modseq_only_for_a_non_empty_result()
    {
        Assert.Equal("* SEARCH 2 3 5\r\n", Write(w => SearchResponseWriter.WriteSearch(w, [2, 3, 5])));
        Assert.Equal("* SEARCH\r\n", Write(w => SearchResponseWriter.WriteSearch(w, [])));
        Assert.Equal("* SEARCH 4294967295 (MODSEQ 9223372036854775807)\r\n", Write(w => SearchResponseWriter.WriteSearch(w, [uint.MaxValue], long.MaxValue)));
        Assert.Equal("* SEARCH\r\n", Write(w => SearchResponseWriter.WriteSearch(w, [], 5)));
    }

    [Fact]
    public void Esearch_writes_options_in_one_order_whatever_was_asked()
    {
        var all = SearchReturnOptions.Min | SearchReturnOptions.Max | SearchReturnOptions.Count | SearchReturnOptions.All;
        Assert.Equal("* ESEARCH (TAG \"A1\") MIN 2 MAX 9 COUNT 4 ALL 2:3,5,9\r\n",
            Write(w => SearchResponseWriter.WriteEsearch(w, "A1"u8, false, all, Result(2, 3, 5, 9))));
        Assert.Equal("* ESEARCH (TAG \"A1\") UID MIN 20 MAX 90 COUNT 4 ALL 20,30,50,90 MODSEQ 99\r\n",
            Write(w => SearchResponseWriter.WriteEsearch(w, "A1"u8, true, all | SearchReturnOptions.Save, Result(2, 3, 5, 9), withModSeq: true)));
        // None, or SAVE alone, is ALL.
        Assert.Equal("* ESEARCH (TAG \"t\") ALL 1\r\n", Write(w => SearchResponseWriter.WriteEsearch(w, "t"u8, false, SearchReturnOptions.None, Result(1))));
        Assert.Equal("* ESEARCH (TAG \"t\") COUNT 0\r\n",
            Write(w => SearchResponseWriter.WriteEsearch(w, "t"u8, false, all, SearchResult.Empty, withModSeq: true)));
    }

    [Fact]
    public void Esearch_modseq_is_that_of_the_messages_reported()
    {
        Assert.EndsWith(" MODSEQ 5\r\n", Write(w => SearchResponseWriter.WriteEsearch(w, "t"u8, false, SearchReturnOptions.Min, Result(1, 2), true)));
        Assert.EndsWith(" MODSEQ 7\r\n", Write(w => SearchResponseWriter.WriteEsearch(w, "t"u8, false, SearchReturnOptions.Max, Result(1, 2), true)));
        Assert.EndsWith(" MODSEQ 7\r\n", Write(w => SearchResponseWriter.WriteEsearch(w, "t"u8, false, SearchReturnOptions.Min | SearchReturnOptions.Max, Result(1, 2), true)));
        Assert.EndsWith(" MODSEQ 99\r\n", Write(w => SearchResponseWriter.WriteEsearch(w, "t"u8, false, SearchReturnOptions.Count, Result(1, 2), true)));
    }

    [Fact]
    public void Save_alone_answers_no_esearch()
    {
        Assert.False(SearchResponseWriter.AnswersEsearch(SearchReturnOptions.Save));
        Assert.True(SearchResponseWriter.AnswersEsearch(SearchReturnOptions.Save | SearchReturnOptions.Min));
        Assert.True(SearchResponseWriter.AnswersEsearch(SearchReturnOptions.All));
    }

    [Fact]
    public void Saved_result_keeps_uids()
    {
        var result = Result(1, 2, 3, 7);
        Assert.Equal("10,20,30,70", SearchResponseWriter.SavedResult(SearchReturnOptions.Save, result).ToString());
        Assert.Equal("10", SearchResponseWriter.SavedResult(SearchReturnOptions.Save | SearchReturnOptions.Min, result).ToString());
        Assert.Equal("70", SearchResponseWriter.SavedResult(SearchReturnOptions.Save | SearchReturnOptions.Max, result).ToString());
        Assert.Equal("10,70", SearchResponseWriter.SavedResult(SearchReturnOptions.Save | SearchReturnOptions.Min | SearchReturnOptions.Max, result).ToString());
        Assert.Equal("10", SearchResponseWriter.SavedResult(SearchReturnOptions.Save | SearchReturnOptions.Min | SearchReturnOptions.Max, Result(1)).ToString());
        Assert.Equal("10,20,30,70", SearchResponseWriter.SavedResult(SearchReturnOptions.Save | SearchReturnOptions.Min | SearchReturnOptions.Count, result).ToString());
        Assert.True(SearchResponseWriter.SavedResult(SearchReturnOptions.Save, SearchResult.Empty).IsEmpty);
        var consecutive = new SearchResult([1, 2, 3], [5, 6, 7], 1, 1, 1);
        Assert.Equal("5:7", SearchResponseWriter.SavedResult(SearchReturnOptions.Save, consecutive).ToString());
    }

    [Fact]
    public void A_long_result_is_written_piece_by_piece_into_small_segments()
    {
        var numbers = Enumerable.Range(1, 100_000).Select(i => (uint)(i * 2)).ToArray();
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(minimumSegmentSize: 16, pauseWriterThreshold: 0));
        SearchResponseWriter.WriteSearch(pipe.Writer, numbers);
        pipe.Writer.Complete();
        Assert.True(pipe.Reader.TryRead(out var read));
        var text = Encoding.ASCII.GetString(read.Buffer.ToArray());
        Assert.StartsWith("* SEARCH 2 4 6 ", text);
        Assert.EndsWith(" 199998 200000\r\n", text);
        Assert.Equal(100_000, text.Count(c => c == ' ') - 1);
    }
}
