// The one translation unit that compiles Asio, Asio.SSL and Beast (separate compilation):
// every other file only includes their declarations, which keeps two-core builds fast.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
