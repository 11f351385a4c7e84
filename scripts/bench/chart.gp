# Draws the chart of scripts/bench.sh: per scenario, the requests/s (GiB/s for c) of proxyd, nginx
# and HAProxy relative to the better of nginx and HAProxy in the same run, with proxyd's targets
# for a and d (1.2) and b (1.1) as dashed lines.
#   gnuplot -e "data='chart.tsv'; out='chart.svg'; subtitle='...'" scripts/bench/chart.gp
set terminal svg size 900,440 dynamic font 'sans,11' background rgb 'white'
set output out
set title "proxyd against nginx and HAProxy: throughput, 1.0 = the better of the two in the same run\n{/*0.75 ".subtitle."}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:1.5<*]
set ylabel 'relative to the better peer'
set key outside right top
set grid ytics
set datafile separator '\t'
set arrow from graph 0, first 1.2 to graph 1, first 1.2 nohead dt 2 lc rgb '#555555'
set label 'target a, d' at graph 1.01, first 1.2 left font ',9'
set arrow from graph 0, first 1.1 to graph 1, first 1.1 nohead dt 3 lc rgb '#999999'
set label 'target b' at graph 1.01, first 1.1 left font ',9'
plot data using 2:xtic(1) title 'proxyd' lc rgb '#1f77b4', \
     '' using 3 title 'nginx' lc rgb '#2ca02c', \
     '' using 4 title 'HAProxy' lc rgb '#d62728'
